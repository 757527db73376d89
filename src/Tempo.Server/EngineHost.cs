using Microsoft.Extensions.Logging;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;

namespace Tempo.Server;

/// <summary>
/// Owns the <see cref="EngineCore"/> on one dedicated thread: the engine loop. Request threads hand it submissions
/// and aborts through the <see cref="EngineInbox"/> (which also admits and refuses); it applies them between steps,
/// steps while there is work, blocks on the inbox when there is none, and turns the engine's tokens and endings into
/// each request's <see cref="RequestStream"/>. Every accepted request gets exactly one terminal event, whatever
/// happens (finish, abort, disconnect, shutdown, engine failure). The periodic summary line is
/// <see cref="PeriodicStatsLog"/>'s.
/// </summary>
internal sealed class EngineHost : IDisposable
{
    private const double IdleBackoffS = 0.001;

    private readonly Dictionary<long, Live> _live = [];
    private readonly EngineInbox _inbox;
    private readonly IServingBackend _backend;
    private readonly ServerOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly EngineCore _engine;
    private readonly Thread _thread;
    private readonly PeriodicStatsLog _stats;
    private volatile EngineSnapshot _snapshot;
    private readonly StepLogExecutor? _stepLog;

    public EngineHost(IServingBackend backend, ServerOptions options, ServingMetrics metrics, ILogger logger)
    {
        _backend = backend;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _inbox = new EngineInbox(options, backend.Clock, metrics.OnJobJudged);
        var policy = PolicyRegistry.Get(options.Policy);
        Config = backend.EngineConfigFor(options.MaxBatch, options.TokenBudget ?? policy.DefaultTokenBudget);
        if (options.ShedUnattainable && !policy.Sheds)
        {
            throw new ArgumentException($"policy '{policy.Name}' cannot shed unattainable requests");
        }

        var scheduler = policy.Create(new SchedulerOptions { Engine = Config, Predictor = options.Predictor, ShedUnattainable = options.ShedUnattainable, SelectEdf = options.Tempo });
        var executor = backend.CreateExecutor(Config);
        if (options.StepLogPath is { } stepLog)
        {
            // Buffered: a line per step must not cost the engine loop a write system call.
            _stepLog = new StepLogExecutor(executor, backend.Clock, new StreamWriter(stepLog, append: false, new System.Text.UTF8Encoding(false), bufferSize: 1 << 16));
            executor = _stepLog;
        }

        _engine = new EngineCore(Config, scheduler, executor, backend.Clock);
        _engine.TokenEmitted += OnToken;
        _engine.RequestEnded += OnEnded;
        _stepLog?.Attach(_engine);
        PolicyName = scheduler.Name;
        _snapshot = new EngineSnapshot(0, 0, 0, 0, 0, 0, 0, true);
        _stats = new PeriodicStatsLog(options.StatsInterval, backend.Clock, metrics, () => _snapshot, logger);
        _thread = new Thread(Run) { IsBackground = true, Name = "tempo-engine" };
        _thread.Start();
    }

    /// <summary>Engine limits in force.</summary>
    public EngineConfig Config { get; }

    /// <summary>Name of the scheduling policy.</summary>
    public string PolicyName { get; }

    /// <summary>The latest published state.</summary>
    public EngineSnapshot Snapshot => _snapshot;

    /// <summary>The server's logger.</summary>
    public ILogger Logger => _logger;

    /// <summary>Collective jobs whose id mapping is remembered.</summary>
    public int TrackedJobs => _inbox.TrackedJobs;

    /// <inheritdoc cref="EngineInbox.TryAccept"/>
    public Refusal TryAccept(RequestSpec template, string? jobKey, out RequestStream? stream) => _inbox.TryAccept(template, jobKey, out stream);

    /// <summary>Aborts a request (its client went away). Applied before the next step; a no-op once it ended.</summary>
    public void Abort(long id, string detail) => _inbox.Abort(id, detail);

    /// <summary>Aborts every live request (the end of a drain). Applied before the next step.</summary>
    public void AbortAll(string detail) => _inbox.AbortAll(detail);

    /// <summary>Stops accepting (new requests get 503); in-flight requests carry on until <see cref="AbortAll"/>.</summary>
    public void BeginDrain(TimeSpan grace)
    {
        if (!_inbox.StopAccepting())
        {
            return;
        }

        ServerLog.Draining(_logger, _snapshot.Live, grace.TotalSeconds);
        PublishAccepting();
    }

    /// <summary>Aborts whatever is still live, then stops the engine thread.</summary>
    public void Dispose()
    {
        _inbox.Close("server stopped");
        _thread.Join();
        _stepLog?.Dispose();
        _stats.Dispose();
        _backend.Dispose();
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                Apply();
                if (_engine.HasWork)
                {
                    var idleBefore = _engine.Stats.IdleSteps;
                    var duration = _engine.Step();
                    Publish();
                    if (_engine.Stats.IdleSteps > idleBefore && duration < IdleBackoffS)
                    {
                        // The policy ran nothing (deferral, KV full) and a real executor returns at once for an empty
                        // batch: without a pause this loop would spin a core until the plan changes.
                        Thread.Sleep(TimeSpan.FromSeconds(IdleBackoffS));
                    }

                    continue;
                }

                Publish();
                // Idle: block until a command arrives (no spinning); false means the host is disposed.
                if (!_inbox.WaitForCommand())
                {
                    return;
                }
            }
        }
#pragma warning disable CA1031 // The engine thread must turn any failure into terminal events, never die silently.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(e);
        }
    }

    private void Apply()
    {
        var submitted = 0;
        while (_inbox.TryRead(out var command))
        {
            switch (command)
            {
                case EngineCommand.Submit s:
                    submitted++;
                    var live = new Live(s.Stream, s.Spec);
                    _live[s.Spec.Id] = live;
                    // Registered first: a request the engine rejects at once ends inside Submit.
                    try
                    {
                        live.Request = _engine.Submit(s.Spec, s.ArrivalS);
                    }
#pragma warning disable CA1031 // One request the engine cannot take must end alone, not take the engine thread down.
                    catch (Exception e) when (_live.ContainsKey(s.Spec.Id))
#pragma warning restore CA1031
                    {
                        // Admission validates the same rules, so this is a bug; still, answer the request.
                        ServerLog.RequestFailed(_logger, s.Spec.Id, e);
                        _live.Remove(s.Spec.Id);
                        var record = new RequestRecord(s.Spec, s.ArrivalS, [], _backend.Clock.NowS, FinishReason.Rejected, "the engine could not take this request: " + e.Message);
                        s.Stream.End(SloVerdict.Score(record, _options.Weights));
                    }

                    break;
                case EngineCommand.Abort a:
                    if (_live.TryGetValue(a.Id, out var target) && target.Request is { } r)
                    {
                        _engine.Abort(r, a.Detail);
                    }

                    break;
                case EngineCommand.AbortAll all:
                    foreach (var l in _live.Values.ToList())
                    {
                        if (l.Request is { } req)
                        {
                            _engine.Abort(req, all.Detail);
                        }
                    }

                    break;
            }
        }

        if (submitted > 0)
        {
            _inbox.ReportEngine(submitted, _engine.View.Waiting.Count);
        }
    }

    private void PublishAccepting()
    {
        var s = _snapshot;
        _snapshot = s with { Accepting = false };
    }

    private void Publish()
    {
        var view = _engine.View;
        var (inbox, accepting) = _inbox.ReportEngine(0, view.Waiting.Count);

        _snapshot = new EngineSnapshot(
            view.Running.Count,
            view.Waiting.Count + inbox,
            view.Swapped.Count,
            _engine.Kv.GpuUsage,
            _engine.LiveRequests + inbox,
            _engine.Steps,
            _engine.Stats.SwapOuts + _engine.Stats.Recomputes,
            accepting);
    }

    private void OnToken(EngineRequest r, SequenceOutput output)
    {
        if (!_live.TryGetValue(r.Id, out var live))
        {
            return;
        }

        var times = r.TokenTimesS;
        var n = times.Count;
        _metrics.OnToken(r.PromptTokens, times[n - 1] - r.ArrivalS, n > 1 ? times[n - 1] - times[n - 2] : null);
        string text;
        try
        {
            text = output.Text ?? _backend.TokenText(output.TokenId);
        }
#pragma warning disable CA1031 // A token that cannot be decoded ends its own request, not the engine.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ServerLog.RequestFailed(_logger, r.Id, e);
            _inbox.Abort(r.Id, "failed to decode an output token: " + e.Message);
            return;
        }

        live.Stream.Token(text);
    }

    private void OnEnded(EngineRequest r, RequestRecord record)
    {
        var outcome = SloVerdict.Score(record, _options.Weights);
        _metrics.OnEnded(outcome);
        _stats.OnEnded(outcome.SloMet);
        _inbox.Ended(record.Spec, outcome.SloMet);

        ServerLog.RequestFinished(_logger, outcome);

        if (_live.Remove(r.Id, out var live))
        {
            live.Stream.End(outcome);
        }
    }

    private void Fail(Exception e)
    {
        ServerLog.EngineFailed(_logger, e);
        _inbox.Fail();

        // Everything accepted gets its terminal event: live requests and submissions never applied alike.
        var now = _backend.Clock.NowS;
        var detail = "engine failure: " + e.Message;
        foreach (var live in _live.Values)
        {
            EndUnserved(live.Stream, live.Spec, now, detail);
        }

        _live.Clear();
        while (_inbox.TryRead(out var command))
        {
            if (command is EngineCommand.Submit s)
            {
                EndUnserved(s.Stream, s.Spec, now, detail);
            }
        }

        // Nothing is live any more: every accepted request has had its answer.
        _snapshot = _snapshot with { Running = 0, Waiting = 0, Swapped = 0, KvUsage = 0, Live = 0, Accepting = false };
    }

    private void EndUnserved(RequestStream stream, RequestSpec spec, double now, string detail)
    {
        var record = new RequestRecord(spec, Math.Min(spec.ArrivalS, now), [], now, FinishReason.Aborted, detail);
        stream.End(SloVerdict.Score(record, _options.Weights));
    }

    private sealed class Live(RequestStream stream, RequestSpec spec)
    {
        public RequestStream Stream { get; } = stream;

        public RequestSpec Spec { get; } = spec;

        public EngineRequest? Request { get; set; }
    }
}
