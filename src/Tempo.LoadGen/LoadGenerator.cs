using System.Net.Sockets;

using Tempo.Core;
using Tempo.Workloads;

namespace Tempo.LoadGen;

/// <summary>
/// Open-loop load generator over the OpenAI API: replays a <see cref="Workload"/> against a server and measures every
/// call from the client side, producing the same records and metrics as the simulator.
/// </summary>
/// <remarks>
/// Each top-level request (and stage 0 of each collective job) is sent at its scheduled offset from the first arrival,
/// whether or not earlier requests have answered. Stage k+1 of a job is sent when every call of stage k has ended; if
/// one of them failed, the job is abandoned and its later calls get aborted records, as in the simulator. The only
/// concurrency cap is a high safety limit (<see cref="BenchOptions.MaxInFlight"/>).
/// </remarks>
/// <param name="handler">HTTP handler to use (tests); null creates a socket handler without proxy.</param>
/// <param name="time">Clock for send times, token times and waits; null is the system clock.</param>
public sealed class LoadGenerator(HttpMessageHandler? handler = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// Replays <paramref name="workload"/> against the server of <paramref name="options"/> and returns when every sent
    /// call has ended (each bounded by the timeout). Server and network failures become aborted records, never
    /// exceptions. Cancelling stops new sends and aborts calls in flight; the result still covers what was sent.
    /// </summary>
    public async Task<BenchResult> RunAsync(Workload workload, BenchOptions options, IProgress<BenchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        workload.Validate();
        if (workload.Requests.Count == 0)
        {
            throw new ArgumentException($"workload '{workload.Name}' has no requests.");
        }

        var ownHandler = handler is null;
        var http = new HttpClient(handler ?? CreateHandler(options, reuseConnections: true), disposeHandler: ownHandler) { Timeout = Timeout.InfiniteTimeSpan };
        // Retries after a stale keep-alive connection go on connections that are never reused; an injected handler
        // (tests) serves both.
        var fresh = handler is null ? new HttpClient(CreateHandler(options, reuseConnections: false)) { Timeout = Timeout.InfiniteTimeSpan } : http;
        using (http)
        using (fresh == http ? null : fresh)
        {
            var (model, problem) = options.Model is { } m ? (m, null) : await ModelDiscovery.FirstModelAsync(http, options, _time, cancellationToken).ConfigureAwait(false);
            using var replay = new Replay(workload, options, _time, http, fresh, model ?? ModelDiscovery.Fallback, progress);
            await replay.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return replay.Result(model is null ? problem : null);
        }
    }

    private static SocketsHttpHandler CreateHandler(BenchOptions options, bool reuseConnections) => new()
    {
        // A benchmark measures the server, not a proxy between us and it.
        UseProxy = false,
        MaxConnectionsPerServer = int.MaxValue,
        ConnectTimeout = options.Timeout < TimeSpan.FromSeconds(30) ? options.Timeout : TimeSpan.FromSeconds(30),
        // Zero: every request opens its own connection and closes it after.
        PooledConnectionLifetime = reuseConnections ? TimeSpan.FromMinutes(10) : TimeSpan.Zero,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        ConnectCallback = ConnectAsync,
    };

    // A plain TCP connect with Nagle off: token chunks are small, and a delayed request would delay its first token.
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken token)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The state of one run.</summary>
    private sealed class Replay : IDisposable
    {
        private readonly Workload _workload;
        private readonly BenchOptions _options;
        private readonly TimeProvider _time;
        private readonly IProgress<BenchProgress>? _progress;
        private readonly OpenAiCall _call;
        private readonly string _model;
        private readonly List<TopLevelArrival> _plan;
        private readonly int _beyondDuration;
        private readonly RequestRecord?[] _records;
        private readonly CallObservation?[] _observations;
        private readonly SemaphoreSlim _limit;
        private readonly Lock _gate = new();
        private readonly int _planned;
        private long _t0;
        private int _sent;
        private int _ended;
        private int _failed;
        private int _inFlight;
        private int _peak;
        private int _delayed;
        private int _abandoned;
        private int _arrivalsSent;

        public Replay(Workload workload, BenchOptions options, TimeProvider time, HttpClient http, HttpClient fresh, string model, IProgress<BenchProgress>? progress)
        {
            _workload = workload;
            _options = options;
            _time = time;
            _progress = progress;
            _model = model;
            _records = new RequestRecord?[workload.Requests.Count];
            _observations = new CallObservation?[workload.Requests.Count];
            _limit = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);

            // Job ids are only unique within a workload; the tag keeps this run's jobs apart from earlier runs' on the server.
            var jobTag = "bench-" + Guid.NewGuid().ToString("N")[..8];
            _call = new OpenAiCall(http, fresh, options, model, jobTag, Now);

            var all = ArrivalPlan.Of(workload.Requests);
            var first = all[0].TimeS;
            _plan = [.. all.Where(a => options.DurationS is not { } d || a.TimeS - first < d)];
            _planned = _plan.Sum(Calls);
            _beyondDuration = workload.Requests.Count - _planned;
        }

        public async Task ExecuteAsync(CancellationToken token)
        {
            var first = _plan[0].TimeS;
            var running = new List<Task>(_plan.Count);
            _t0 = _time.GetTimestamp();
            foreach (var arrival in _plan)
            {
                try
                {
                    // Timers round to the millisecond and may fire a little early: wait again for the remainder, a few
                    // times at most, so no request leaves before its scheduled time.
                    for (var tries = 0; tries < 3 && arrival.TimeS - first - Now() is var wait && wait > 0; tries++)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(wait) + TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 2), _time, token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (token.IsCancellationRequested)
                {
                    break;
                }

                _arrivalsSent++;

                // Off the dispatcher's path: building a long prompt or a slow connect must never delay the next arrival.
                running.Add(arrival.Stages is { } stages
                    ? Task.Run(() => RunJobAsync(stages, token), CancellationToken.None)
                    : Task.Run(() => RunSingleAsync(arrival.Index, token), CancellationToken.None));
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }

        public BenchResult Result(string? modelProblem)
        {
            var records = _records.Where(r => r is not null).Select(r => r!).ToList();
            var done = _observations.Where(o => o is { Completed: true }).Select(o => o!).ToList();
            var withUsage = _observations
                .Select((o, i) => (o, i))
                .Where(x => x.o is { Completed: true, UsageCompletionTokens: not null })
                .ToList();
            var sentArrivals = _plan.Take(_arrivalsSent).ToList();
            var span = sentArrivals.Count > 1 ? sentArrivals[^1].TimeS - sentArrivals[0].TimeS : 0;
            return new BenchResult
            {
                Model = _model,
                ModelProblem = modelProblem,
                Records = records,
                Metrics = RunMetrics.Compute(records, _options.Weights),
                Planned = _planned,
                Sent = _sent,
                NotSent = _plan.Skip(_arrivalsSent).Sum(Calls),
                BeyondDuration = _beyondDuration,
                ErrorsByKind = _observations.Where(o => o?.ErrorKind is not null)
                    .GroupBy(o => o!.ErrorKind!)
                    .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Count()),
                Abandoned = _abandoned,
                RetriedOnFreshConnection = _observations.Count(o => o is { Retried: true }),
                DelayedByLimit = _delayed,
                PeakInFlight = _peak,
                ScheduledRate = span > 0 ? (sentArrivals.Count - 1) / span : 0,
                WallS = Now(),
                WithUsage = withUsage.Count,
                ChunkCountMismatches = withUsage.Count(x => x.o!.UsageCompletionTokens != x.o.ContentChunks),
                ReportedPromptTokens = withUsage.Where(x => x.o!.UsagePromptTokens is not null).Sum(x => (long)x.o!.UsagePromptTokens!.Value),
                SpecPromptTokens = withUsage.Where(x => x.o!.UsagePromptTokens is not null).Sum(x => (long)_workload.Requests[x.i].PromptTokens),
                OutputTokens = done.Sum(o => (long)o.TokenTimesS.Count),
                RequestedOutputTokens = _observations.Select((o, i) => (o, i)).Where(x => x.o is { Completed: true }).Sum(x => (long)_workload.Requests[x.i].OutputTokens),
            };
        }

        public void Dispose() => _limit.Dispose();

        private double Now() => _time.GetElapsedTime(_t0).TotalSeconds;

        private static int Calls(TopLevelArrival a) => a.Stages?.Sum(s => s.Count) ?? 1;

        private async Task RunSingleAsync(int index, CancellationToken token)
        {
            var spec = _workload.Requests[index];
            var seen = await SendAsync(index, token).ConfigureAwait(false);
            _records[index] = ToRecord(spec with { ArrivalS = seen.SendS }, seen);
            Ended(seen.Completed);
        }

        private async Task RunJobAsync(IReadOnlyList<IReadOnlyList<int>> stages, CancellationToken token)
        {
            var jobStart = 0.0;
            for (var s = 0; s < stages.Count; s++)
            {
                if (s > 0 && token.IsCancellationRequested)
                {
                    Abandon(stages, s, jobStart, "cancelled: the benchmark was cancelled before this stage was sent");
                    return;
                }

                var calls = stages[s];
                var seen = await Task.WhenAll(calls.Select(i => SendAsync(i, token))).ConfigureAwait(false);
                if (s == 0)
                {
                    jobStart = seen.Min(o => o.SendS);
                }

                string? failure = null;
                for (var k = 0; k < calls.Count; k++)
                {
                    var spec = _workload.Requests[calls[k]];
                    _records[calls[k]] = ToRecord(spec with { ArrivalS = jobStart }, seen[k]);
                    if (!seen[k].Completed && failure is null)
                    {
                        failure = $"job abandoned: call {spec.Id} was aborted ({seen[k].Detail})";
                    }
                }

                foreach (var o in seen)
                {
                    Ended(o.Completed);
                }

                if (failure is not null)
                {
                    Abandon(stages, s + 1, jobStart, failure);
                    return;
                }
            }
        }

        /// <summary>Aborted records for every call of stages <paramref name="from"/>.. that will never be sent.</summary>
        private void Abandon(IReadOnlyList<IReadOnlyList<int>> stages, int from, double jobStart, string detail)
        {
            var now = Now();
            for (var s = from; s < stages.Count; s++)
            {
                foreach (var i in stages[s])
                {
                    _records[i] = new RequestRecord(_workload.Requests[i] with { ArrivalS = jobStart }, now, [], now, FinishReason.Aborted, detail);
                    lock (_gate)
                    {
                        _abandoned++;
                    }

                    Ended(completed: false, sent: false);
                }
            }
        }

        private async Task<CallObservation> SendAsync(int index, CancellationToken token)
        {
            if (!_limit.Wait(0, CancellationToken.None))
            {
                lock (_gate)
                {
                    _delayed++;
                }

                await _limit.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            try
            {
                lock (_gate)
                {
                    _sent++;
                    _inFlight++;
                    _peak = Math.Max(_peak, _inFlight);
                }

                Report();
                var seen = await _call.SendAsync(_workload.Requests[index], _time, token).ConfigureAwait(false);
                _observations[index] = seen;
                return seen;
            }
            finally
            {
                _limit.Release();
            }
        }

        private static RequestRecord ToRecord(RequestSpec spec, CallObservation seen) =>
            new(spec, seen.SendS, seen.TokenTimesS, seen.EndS, seen.Reason, seen.Detail);

        private void Ended(bool completed, bool sent = true)
        {
            lock (_gate)
            {
                _ended++;
                if (sent)
                {
                    _inFlight--;
                }

                if (!completed)
                {
                    _failed++;
                }
            }

            Report();
        }

        private void Report()
        {
            if (_progress is null)
            {
                return;
            }

            BenchProgress snapshot;
            lock (_gate)
            {
                snapshot = new BenchProgress(_planned, _sent, _ended, _failed, _inFlight, Now());
            }

            _progress.Report(snapshot);
        }
    }
}
