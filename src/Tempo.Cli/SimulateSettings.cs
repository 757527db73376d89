using System.Globalization;

using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>Validated settings of one <c>tempo simulate</c> invocation.</summary>
internal sealed record SimulateSettings
{
    /// <summary>Default offered load: the reference mix overloads llama3.1-8b-a100 at batch 32 here (see docs/BENCHMARKS.md).</summary>
    public const string DefaultRates = "6";

    /// <summary>Default number of top-level arrivals: enough for stable percentiles, seconds per policy.</summary>
    public const int DefaultRequests = 1000;

    public required string Workload { get; init; }

    public required IReadOnlyList<string> Policies { get; init; }

    public required IReadOnlyList<double> Rates { get; init; }

    public required int Requests { get; init; }

    public required string Profile { get; init; }

    public required int MaxBatch { get; init; }

    public int? TokenBudget { get; init; }

    public required int Seed { get; init; }

    public string? OutDir { get; init; }

    public required OutputFormat Format { get; init; }

    public required ArrivalProcess Arrival { get; init; }

    public required double BurstCv { get; init; }

    public required string Predictor { get; init; }

    public string? PredictorModel { get; init; }

    public required WorkloadScale Scale { get; init; }

    /// <summary>Multiplier of the step costs the policies are told (1: the truth).</summary>
    public double CostBias { get; init; } = 1.0;

    /// <summary>Let the policies that can shed requests whose SLO they cannot meet (they count as missed).</summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>Coefficient of variation of simulated step times around the profile's (0: exact).</summary>
    public double StepNoise { get; init; }

    /// <summary>Replicas of the engine (1: one engine).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>How many times slower than the profile each replica runs (cycled; empty: all equal).</summary>
    public IReadOnlyList<double> ReplicaSlowdowns { get; init; } = [];

    /// <summary>Router of a fleet (<see cref="Fleet.RouterRegistry"/>).</summary>
    public string Router { get; init; } = "round-robin";

    /// <summary>File for the per-request export, or null.</summary>
    public string? RecordsFile { get; init; }

    /// <summary>The workload options of a run at <paramref name="rate"/> (null: the workload's own).</summary>
    public WorkloadOptions WorkloadOptionsFor(double? rate) => Scale.Apply(new WorkloadOptions
    {
        Requests = Requests,
        Rate = rate,
        Seed = Seed,
        Arrival = Arrival,
        BurstCv = BurstCv,
    });

    /// <summary>Key/value record of the configuration for results files.</summary>
    public IReadOnlyDictionary<string, string> Describe(string workloadName) => new Dictionary<string, string>
    {
        ["workload"] = workloadName,
        ["profile"] = Profile,
        ["requests"] = Requests.ToString(CultureInfo.InvariantCulture),
        ["rates"] = string.Join(",", Rates.Select(r => r.ToString(CultureInfo.InvariantCulture))),
        ["policies"] = string.Join(",", Policies),
        ["max_batch"] = MaxBatch.ToString(CultureInfo.InvariantCulture),
        ["token_budget"] = TokenBudget?.ToString(CultureInfo.InvariantCulture) ?? "policy default",
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["arrival"] = Arrival == ArrivalProcess.Gamma ? $"gamma(cv={BurstCv.ToString(CultureInfo.InvariantCulture)})" : Arrival.ToString().ToLowerInvariant(),
        ["predictor"] = PredictorModel is null ? Predictor : $"{Predictor} ({PredictorModel})",
        ["length_scale"] = Scale.Length.ToString(CultureInfo.InvariantCulture),
        ["slo_scale"] = Scale.Slo.ToString(CultureInfo.InvariantCulture),
        ["cost_bias"] = CostBias.ToString(CultureInfo.InvariantCulture),
        ["step_noise"] = StepNoise.ToString(CultureInfo.InvariantCulture),
        ["shed_unattainable"] = ShedUnattainable ? "true" : "false",
        ["replicas"] = Replicas.ToString(CultureInfo.InvariantCulture),
        ["router"] = Replicas == 1 ? "none" : Router,
        ["replica_slowdowns"] = ReplicaSlowdowns.Count == 0 ? "none" : string.Join(",", ReplicaSlowdowns.Select(s => s.ToString(CultureInfo.InvariantCulture))),
    };
}

/// <summary>How results are printed to stdout.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Csv,
}
