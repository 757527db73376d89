using System.Threading.Channels;

using Microsoft.Extensions.Logging;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;

namespace Tempo.Server;

/// <summary>The engine's state as last published by its thread.</summary>
/// <param name="Running">Requests holding GPU KV.</param>
/// <param name="Waiting">Requests waiting for their first (or a recompute) scheduling, including submissions not yet applied.</param>
/// <param name="Swapped">Requests whose KV is in CPU swap space.</param>
/// <param name="KvUsage">Fraction of GPU KV blocks in use.</param>
/// <param name="Live">Requests accepted and not yet ended.</param>
/// <param name="Steps">Engine steps run.</param>
/// <param name="Preemptions">Swap-outs plus recomputes so far.</param>
/// <param name="Accepting">False once shutdown began or the engine failed.</param>
public sealed record EngineSnapshot(int Running, int Waiting, int Swapped, double KvUsage, int Live, long Steps, long Preemptions, bool Accepting);

/// <summary>Why <see cref="EngineHost.TryAccept"/> refused a request.</summary>
internal enum Refusal
{
    None,
    QueueFull,
    ShuttingDown,
    EngineFailed,
}

/// <summary>One event of a request's stream: a token's text, or the single terminal outcome.</summary>
internal readonly record struct StreamEvent(string? Text, RequestOutcome? End);

/// <summary>The events of one accepted request, written by the engine thread and read by its HTTP handler.</summary>
internal sealed class RequestStream(long id)
{
    // Continuations run on the thread pool, never inline on the engine thread.
    private readonly Channel<StreamEvent> _events = Channel.CreateUnbounded<StreamEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    public long Id { get; } = id;

    public ChannelReader<StreamEvent> Events => _events.Reader;

    public void Token(string text) => _events.Writer.TryWrite(new StreamEvent(text, null));

    public void End(RequestOutcome outcome)
    {
        _events.Writer.TryWrite(new StreamEvent(null, outcome));
        _events.Writer.TryComplete();
    }
}

/// <summary>
/// Owns the <see cref="EngineCore"/> on one dedicated thread. Request threads hand it submissions and aborts
/// through a queue; it applies them between steps, steps while there is work and blocks on the queue when
/// there is none. Every accepted request gets exactly one terminal event, whatever happens (finish, abort,
/// disconnect, shutdown, engine failure).
/// </summary>
internal sealed class EngineHost : IDisposable
{
    private const double IdleBackoffS = 0.001;

    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<long, Live> _live = [];
    private readonly JobRegistry _jobs;
    private readonly Lock _admission = new();
    private readonly IServingBackend _backend;
    private readonly ServerOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly EngineCore _engine;
    private readonly Thread _thread;
    private readonly Timer? _statsTimer;
    private long _nextId;
    private int _inbox;
    private int _engineWaiting;
    private bool _accepting = true;
    private bool _failed;
    private volatile EngineSnapshot _snapshot;
    private StatsMark _lastStats;
    private long _finished;
    private long _finishedMet;
    private readonly StepLogExecutor? _stepLog;

    public EngineHost(IServingBackend backend, ServerOptions options, ServingMetrics metrics, ILogger logger)
    {
        _backend = backend;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _jobs = new JobRegistry(options.MaxTrackedJobs, options.JobStateTtl.TotalSeconds);
        var policy = PolicyRegistry.Get(options.Policy);
        Config = backend.EngineConfigFor(options.MaxBatch, options.TokenBudget ?? policy.DefaultTokenBudget);
        if (options.ShedUnattainable && !policy.Sheds)
        {
            throw new ArgumentException($"policy '{policy.Name}' cannot shed unattainable requests");
        }

        var scheduler = policy.Create(new SchedulerOptions { Engine = Config, Predictor = options.Predictor, ShedUnattainable = options.ShedUnattainable });
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
        PolicyName = scheduler.Name;
        _snapshot = new EngineSnapshot(0, 0, 0, 0, 0, 0, 0, true);
        _lastStats = new StatsMark(backend.Clock.NowS, 0, 0, 0, 0);
        _thread = new Thread(Run) { IsBackground = true, Name = "tempo-engine" };
        _thread.Start();
        if (options.StatsInterval > TimeSpan.Zero)
        {
            _statsTimer = new Timer(_ => LogStats(), null, options.StatsInterval, options.StatsInterval);
        }
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
    public int TrackedJobs
    {
        get
        {
            lock (_admission)
            {
                return _jobs.Count;
            }
        }
    }

    /// <summary>
    /// Accepts a validated request unless the queue is full or the server is stopping. The id and arrival time
    /// are stamped here, so latency counts from the moment the request was admitted.
    /// </summary>
    public Refusal TryAccept(RequestSpec template, string? jobKey, out RequestStream? stream)
    {
        stream = null;
        lock (_admission)
        {
            if (_failed)
            {
                return Refusal.EngineFailed;
            }

            if (!_accepting)
            {
                return Refusal.ShuttingDown;
            }

            if (_inbox + _engineWaiting >= _options.MaxQueue)
            {
                return Refusal.QueueFull;
            }

            var now = _backend.Clock.NowS;
            var spec = template with { Id = ++_nextId, ArrivalS = now };
            if (jobKey is not null)
            {
                // A collective call carries its job's arrival: the job deadline runs from the first call seen.
                var job = _jobs.Resolve(jobKey, now, spec.Slo.DeadlineS);
                spec = spec with { JobId = job.Id, ArrivalS = job.ArrivalS };
            }

            stream = new RequestStream(spec.Id);
            _inbox++;
            _commands.Writer.TryWrite(new Command.Submit(spec, now, stream));
            return Refusal.None;
        }
    }

    /// <summary>Aborts a request (its client went away). Applied before the next step; a no-op once it ended.</summary>
    public void Abort(long id, string detail) => _commands.Writer.TryWrite(new Command.Abort(id, detail));

    /// <summary>Aborts every live request (the end of a drain). Applied before the next step.</summary>
    public void AbortAll(string detail) => _commands.Writer.TryWrite(new Command.AbortAll(detail));

    /// <summary>Stops accepting (new requests get 503); in-flight requests carry on until <see cref="AbortAll"/>.</summary>
    public void BeginDrain(TimeSpan grace)
    {
        lock (_admission)
        {
            if (!_accepting)
            {
                return;
            }

            _accepting = false;
        }

        ServerLog.Draining(_logger, _snapshot.Live, grace.TotalSeconds);
        PublishAccepting();
    }

    /// <summary>Aborts whatever is still live, then stops the engine thread.</summary>
    public void Dispose()
    {
        lock (_admission)
        {
            _accepting = false;
            _commands.Writer.TryWrite(new Command.AbortAll("server stopped"));
            _commands.Writer.TryComplete();
        }

        _thread.Join();
        _stepLog?.Dispose();
        _statsTimer?.Dispose();
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
                if (!_commands.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
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
        while (_commands.Reader.TryRead(out var command))
        {
            switch (command)
            {
                case Command.Submit s:
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
                case Command.Abort a:
                    if (_live.TryGetValue(a.Id, out var target) && target.Request is { } r)
                    {
                        _engine.Abort(r, a.Detail);
                    }

                    break;
                case Command.AbortAll all:
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
            lock (_admission)
            {
                _inbox -= submitted;
                _engineWaiting = _engine.View.Waiting.Count;
            }
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
        int inbox;
        bool accepting;
        lock (_admission)
        {
            _engineWaiting = view.Waiting.Count;
            inbox = _inbox;
            accepting = _accepting && !_failed;
        }

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
            _commands.Writer.TryWrite(new Command.Abort(r.Id, "failed to decode an output token: " + e.Message));
            return;
        }

        live.Stream.Token(text);
    }

    private void OnEnded(EngineRequest r, RequestRecord record)
    {
        var outcome = SloVerdict.Score(record, _options.Weights);
        _metrics.OnEnded(outcome);
        Interlocked.Increment(ref _finished);
        if (outcome.SloMet)
        {
            Interlocked.Increment(ref _finishedMet);
        }

        ServerLog.RequestFinished(_logger, outcome);

        if (_live.Remove(r.Id, out var live))
        {
            live.Stream.End(outcome);
        }
    }

    private void Fail(Exception e)
    {
        ServerLog.EngineFailed(_logger, e);
        lock (_admission)
        {
            _failed = true;
            _commands.Writer.TryComplete();
        }

        // Everything accepted gets its terminal event: live requests and submissions never applied alike.
        var now = _backend.Clock.NowS;
        var detail = "engine failure: " + e.Message;
        foreach (var live in _live.Values)
        {
            EndUnserved(live.Stream, live.Spec, now, detail);
        }

        _live.Clear();
        while (_commands.Reader.TryRead(out var command))
        {
            if (command is Command.Submit s)
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

    private void LogStats()
    {
        var now = _backend.Clock.NowS;
        var mark = new StatsMark(now, _metrics.PromptTokens, _metrics.GenerationTokens, Interlocked.Read(ref _finished), Interlocked.Read(ref _finishedMet));
        var last = _lastStats;
        _lastStats = mark;
        var s = _snapshot;
        var interval = Math.Max(now - last.TimeS, 1e-9);
        if (s.Live == 0 && mark.Finished == last.Finished && mark.Generation == last.Generation)
        {
            return; // idle: stay quiet
        }

        ServerLog.Stats(_logger, s.Running, s.Waiting, s.Swapped, s.KvUsage * 100, (mark.Prompt - last.Prompt) / interval,
            (mark.Generation - last.Generation) / interval, mark.Finished - last.Finished, mark.Met - last.Met, interval);
    }

    private readonly record struct StatsMark(double TimeS, long Prompt, long Generation, long Finished, long Met);

    private sealed class Live(RequestStream stream, RequestSpec spec)
    {
        public RequestStream Stream { get; } = stream;

        public RequestSpec Spec { get; } = spec;

        public EngineRequest? Request { get; set; }
    }

    private abstract record Command
    {
        public sealed record Submit(RequestSpec Spec, double ArrivalS, RequestStream Stream) : Command;

        public sealed record Abort(long Id, string Detail) : Command;

        public sealed record AbortAll(string Detail) : Command;
    }
}
