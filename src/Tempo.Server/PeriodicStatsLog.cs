using Microsoft.Extensions.Logging;

using Tempo.Engine;

namespace Tempo.Server;

/// <summary>
/// The server's periodic one-line summary, as vLLM logs it: queue depths, KV use, token throughput and requests
/// finished (and on time) since the last line. Quiet while the server is idle.
/// </summary>
internal sealed class PeriodicStatsLog : IDisposable
{
    private readonly IClock _clock;
    private readonly ServingMetrics _metrics;
    private readonly Func<EngineSnapshot> _snapshot;
    private readonly ILogger _logger;
    private readonly Timer? _timer;
    private StatsMark _last;
    private long _finished;
    private long _finishedMet;

    /// <param name="interval">Time between lines; zero or less logs nothing.</param>
    /// <param name="clock">The engine's clock.</param>
    /// <param name="metrics">Token counters.</param>
    /// <param name="snapshot">The engine's latest published state.</param>
    /// <param name="logger">Where lines go.</param>
    public PeriodicStatsLog(TimeSpan interval, IClock clock, ServingMetrics metrics, Func<EngineSnapshot> snapshot, ILogger logger)
    {
        _clock = clock;
        _metrics = metrics;
        _snapshot = snapshot;
        _logger = logger;
        _last = new StatsMark(clock.NowS, 0, 0, 0, 0);
        if (interval > TimeSpan.Zero)
        {
            _timer = new Timer(_ => Log(), null, interval, interval);
        }
    }

    /// <summary>Counts a request that ended (called on the engine thread).</summary>
    public void OnEnded(bool sloMet)
    {
        Interlocked.Increment(ref _finished);
        if (sloMet)
        {
            Interlocked.Increment(ref _finishedMet);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();

    private void Log()
    {
        var now = _clock.NowS;
        var mark = new StatsMark(now, _metrics.PromptTokens, _metrics.GenerationTokens, Interlocked.Read(ref _finished), Interlocked.Read(ref _finishedMet));
        var last = _last;
        _last = mark;
        var s = _snapshot();
        var interval = Math.Max(now - last.TimeS, 1e-9);
        if (s.Live == 0 && mark.Finished == last.Finished && mark.Generation == last.Generation)
        {
            return; // idle: stay quiet
        }

        ServerLog.Stats(_logger, s.Running, s.Waiting, s.Swapped, s.KvUsage * 100, (mark.Prompt - last.Prompt) / interval,
            (mark.Generation - last.Generation) / interval, mark.Finished - last.Finished, mark.Met - last.Met, interval);
    }

    private readonly record struct StatsMark(double TimeS, long Prompt, long Generation, long Finished, long Met);
}
