using Tempo.Core;
using Tempo.Reports;

namespace Tempo.LoadGen;

/// <summary>The outcome of one benchmark run: client-side records, the same metrics as the simulator, and counters.</summary>
public sealed record BenchResult
{
    /// <summary>Schema of the results document a benchmark writes (same shape as <c>tempo.simulate/v1</c>).</summary>
    public const string Schema = "tempo.bench/v1";

    /// <summary>Model name that was sent.</summary>
    public required string Model { get; init; }

    /// <summary>Why the model name is the fallback, when <c>GET /v1/models</c> did not give one.</summary>
    public string? ModelProblem { get; init; }

    /// <summary>
    /// One record per call that was sent, or that belonged to a job already started (unsent calls of an abandoned job
    /// are aborted records); calls never sent because of the duration limit or cancellation have none. Times are
    /// seconds since the run started; a spec's arrival is the actual send time (collective calls: their job's first send).
    /// </summary>
    public required IReadOnlyList<RequestRecord> Records { get; init; }

    /// <summary>Metrics computed from <see cref="Records"/> exactly as <c>tempo simulate</c> computes them.</summary>
    public required RunMetrics Metrics { get; init; }

    /// <summary>Calls the run planned to send (within the duration limit).</summary>
    public required int Planned { get; init; }

    /// <summary>Calls actually sent.</summary>
    public required int Sent { get; init; }

    /// <summary>Planned calls never sent because the run was cancelled.</summary>
    public required int NotSent { get; init; }

    /// <summary>Workload calls left out of the plan because their arrival was past the duration limit.</summary>
    public required int BeyondDuration { get; init; }

    /// <summary>
    /// Calls whose first send lost its connection before any response (usually a keep-alive connection the server had
    /// closed) and were sent once more on a fresh connection (their outcome is the retry's).
    /// </summary>
    public int RetriedOnFreshConnection { get; init; }

    /// <summary>Failed calls by error kind ("http 500", "timeout", "connection refused", ...).</summary>
    public required IReadOnlyDictionary<string, int> ErrorsByKind { get; init; }

    /// <summary>Collective calls never sent because an earlier call of their job failed.</summary>
    public required int Abandoned { get; init; }

    /// <summary>Sends that had to wait for the in-flight safety limit (non-zero means the replay was not fully open-loop).</summary>
    public required int DelayedByLimit { get; init; }

    /// <summary>Most calls in flight at once.</summary>
    public required int PeakInFlight { get; init; }

    /// <summary>Mean top-level arrival rate of the schedule that was sent (arrivals − 1 over their span), 0 for one arrival.</summary>
    public required double ScheduledRate { get; init; }

    /// <summary>Wall-clock seconds from the first send to the last end.</summary>
    public required double WallS { get; init; }

    /// <summary>Completed calls whose response carried a usage block.</summary>
    public required int WithUsage { get; init; }

    /// <summary>Completed calls whose usage output count differed from the number of text chunks (tokens were re-attributed).</summary>
    public required int ChunkCountMismatches { get; init; }

    /// <summary>Σ server-reported prompt tokens over completed calls with usage.</summary>
    public required long ReportedPromptTokens { get; init; }

    /// <summary>Σ workload prompt tokens over the same calls (to judge the synthetic prompt's approximation).</summary>
    public required long SpecPromptTokens { get; init; }

    /// <summary>Σ server-reported (or, without usage, counted) output tokens over completed calls.</summary>
    public required long OutputTokens { get; init; }

    /// <summary>Σ requested output tokens (max_tokens) over completed calls.</summary>
    public required long RequestedOutputTokens { get; init; }

    /// <summary>
    /// The results document (schema <see cref="Schema"/>): one run labelled <paramref name="label"/> at offered load
    /// <paramref name="rate"/>. The engine counters are zero: a client cannot see them.
    /// </summary>
    public ResultsDocument ToDocument(IReadOnlyDictionary<string, string> config, string label, double rate) =>
        ResultsDocument.From(config, [new RunSummary(label, rate, Metrics, EngineEntry.None, WallS)]) with { Schema = Schema };
}
