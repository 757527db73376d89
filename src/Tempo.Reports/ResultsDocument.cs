using System.Text.Json.Serialization;

using Tempo.Core;

namespace Tempo.Reports;

/// <summary>One simulated run as the reports see it.</summary>
/// <param name="Policy">Policy name.</param>
/// <param name="Rate">Offered load (top-level arrivals per second).</param>
/// <param name="Metrics">Client-side metrics.</param>
/// <param name="Stats">Engine counters (all zero for runs against a server, whose engine the client cannot see).</param>
/// <param name="WallS">Wall-clock seconds the simulation took.</param>
public sealed record RunSummary(string Policy, double Rate, RunMetrics Metrics, EngineEntry Stats, double WallS);

/// <summary>
/// The results file of <c>tempo simulate</c> (schema <c>tempo.simulate/v1</c>, documented in docs/RESULTS.md):
/// the configuration and one entry per (policy, rate).
/// </summary>
public sealed record ResultsDocument
{
    /// <summary>Schema identifier.</summary>
    public string Schema { get; init; } = "tempo.simulate/v1";

    /// <summary>Run configuration as key/value strings (workload, profile, seed, ...).</summary>
    public required IReadOnlyDictionary<string, string> Config { get; init; }

    /// <summary>One entry per (policy, rate), policies in the order given, rates ascending.</summary>
    public required IReadOnlyList<RunEntry> Runs { get; init; }

    /// <summary>Builds the document from run summaries.</summary>
    public static ResultsDocument From(IReadOnlyDictionary<string, string> config, IEnumerable<RunSummary> runs) => new()
    {
        Config = config,
        Runs = [.. runs.Select(RunEntry.From)],
    };
}

/// <summary>Results of one (policy, rate) run.</summary>
public sealed record RunEntry
{
    /// <summary>Policy name.</summary>
    public required string Policy { get; init; }

    /// <summary>Offered load, top-level arrivals per second.</summary>
    public required double Rate { get; init; }

    /// <summary>Requests issued (collective calls counted individually).</summary>
    public required int Requests { get; init; }

    /// <summary>Requests that completed.</summary>
    public required int Completed { get; init; }

    /// <summary>Run duration (first arrival to last finish), seconds.</summary>
    public required double DurationS { get; init; }

    /// <summary>Σ exact service gain (weighted tokens).</summary>
    public required double ServiceGain { get; init; }

    /// <summary>Service gain per second.</summary>
    public required double ServiceGoodput { get; init; }

    /// <summary>Requests meeting their SLO per second.</summary>
    public required double SloGoodput { get; init; }

    /// <summary>Fraction of requests meeting their SLO.</summary>
    public required double Attainment { get; init; }

    /// <summary>Collective jobs issued.</summary>
    public required int Jobs { get; init; }

    /// <summary>Collective jobs that met their deadline.</summary>
    public required int JobsMet { get; init; }

    /// <summary>Per-class metrics keyed by class name (latency, throughput, collective).</summary>
    public required IReadOnlyDictionary<string, ClassEntry> Classes { get; init; }

    /// <summary>Engine counters.</summary>
    public required EngineEntry Engine { get; init; }

    /// <summary>Wall-clock seconds the simulation took (not deterministic).</summary>
    public required double WallS { get; init; }

    internal static RunEntry From(RunSummary s) => new()
    {
        Policy = s.Policy,
        Rate = s.Rate,
        Requests = s.Metrics.Total.Requests,
        Completed = s.Metrics.Total.Completed,
        DurationS = s.Metrics.DurationS,
        ServiceGain = s.Metrics.Total.ServiceGain,
        ServiceGoodput = s.Metrics.ServiceGoodput,
        SloGoodput = s.Metrics.SloGoodput,
        Attainment = Finite(s.Metrics.Attainment),
        Jobs = s.Metrics.Jobs,
        JobsMet = s.Metrics.JobsMet,
        Classes = s.Metrics.ByClass.ToDictionary(kv => ClassName(kv.Key), kv => ClassEntry.From(kv.Value)),
        Engine = s.Stats,
        WallS = s.WallS,
    };

    /// <summary>Lower-case class name used in files.</summary>
    public static string ClassName(RequestClass c) => c.ToString().ToLowerInvariant();

    internal static double Finite(double x) => double.IsFinite(x) ? x : 0;
}

/// <summary>Per-class results.</summary>
public sealed record ClassEntry
{
    /// <summary>Requests issued.</summary>
    public required int Requests { get; init; }

    /// <summary>Requests completed.</summary>
    public required int Completed { get; init; }

    /// <summary>Requests meeting their SLO.</summary>
    public required int SloMet { get; init; }

    /// <summary>SloMet / Requests (0 when there are none).</summary>
    public required double Attainment { get; init; }

    /// <summary>Σ service gain.</summary>
    public required double ServiceGain { get; init; }

    /// <summary>Σ gain had every request met its SLO.</summary>
    public required double MaxServiceGain { get; init; }

    /// <summary>Time to first token, seconds.</summary>
    public required LatencyEntry Ttft { get; init; }

    /// <summary>Gaps between output tokens, seconds.</summary>
    public required LatencyEntry Tbt { get; init; }

    /// <summary>End-to-end latency per call, seconds.</summary>
    public required LatencyEntry E2e { get; init; }

    internal static ClassEntry From(ClassMetrics m) => new()
    {
        Requests = m.Requests,
        Completed = m.Completed,
        SloMet = m.SloMet,
        Attainment = RunEntry.Finite(m.Attainment),
        ServiceGain = m.ServiceGain,
        MaxServiceGain = m.MaxServiceGain,
        Ttft = LatencyEntry.From(m.Ttft),
        Tbt = LatencyEntry.From(m.Tbt),
        E2e = LatencyEntry.From(m.E2e),
    };
}

/// <summary>A latency distribution; values are null when the sample is empty.</summary>
public sealed record LatencyEntry(int Count, double? Mean, double? P50, double? P90, double? P95, double? P99)
{
    internal static LatencyEntry From(LatencySummary s) => new(s.Count, N(s.Mean), N(s.P50), N(s.P90), N(s.P95), N(s.P99));

    private static double? N(double x) => double.IsFinite(x) ? x : null;
}

/// <summary>Engine counters of a run.</summary>
public sealed record EngineEntry(long Steps, long PrefillTokens, long DecodeTokens, long SwapOuts, long SwapIns, long Recomputes, double BusyS)
{
    /// <summary>No engine counters: a run measured from the client side.</summary>
    public static EngineEntry None { get; } = new(0, 0, 0, 0, 0, 0, 0);
}

/// <summary>Source-generated JSON (snake_case) for results files.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ResultsDocument))]
internal sealed partial class ResultsJsonContext : JsonSerializerContext;
