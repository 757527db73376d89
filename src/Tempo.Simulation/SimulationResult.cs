using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Simulation;

/// <summary>Knobs of one simulation run.</summary>
public sealed record SimulationOptions
{
    /// <summary>Token weights for service gain (paper: prompt 1, decode 8).</summary>
    public GainWeights Weights { get; init; } = GainWeights.Paper;

    /// <summary>Stop at this simulated time (seconds) and abort whatever is unfinished; null runs to the end.</summary>
    public double? MaxSimulatedS { get; init; }

    /// <summary>
    /// Consecutive steps that schedule nothing and end nothing, with no arrival left, after which the scheduler
    /// is judged stuck and every live request is aborted.
    /// </summary>
    public int MaxIdleSteps { get; init; } = 10_000;

    /// <summary>Check the engine's invariants after every step (slow; for tests).</summary>
    public bool CheckInvariants { get; init; }

    /// <summary>
    /// How much slower than the profile each replica of a fleet runs (replica i takes entry i mod count; empty: all at
    /// the profile's speed). A fleet of unequal machines, where where a request goes matters.
    /// </summary>
    public IReadOnlyList<double> ReplicaSlowdowns { get; init; } = [];

    /// <summary>
    /// Coefficient of variation of step times: each step takes its modelled time times a lognormal factor with mean 1
    /// and this spread (0: every step exactly as modelled). Real engines are never that steady: single steps on the
    /// CPU engine fall 11–13% (median) and 33–41% (p90) from their shape's median (docs/BENCHMARKS.md §8).
    /// </summary>
    public double StepNoise { get; init; }

    /// <summary>Seed of the step-time noise (replica i draws from seed + i), so a noisy run is reproducible.</summary>
    public int NoiseSeed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> on an impossible setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Weights);
        if (!(StepNoise >= 0) || StepNoise > 10)
        {
            throw new ArgumentException($"step noise must be a coefficient of variation in [0, 10], got {StepNoise}");
        }

        if (MaxSimulatedS is { } cap && !(cap > 0))
        {
            throw new ArgumentException($"simulated-time cap must be positive, got {cap}");
        }

        if (ReplicaSlowdowns.Any(s => !(s > 0) || double.IsInfinity(s)))
        {
            throw new ArgumentException($"replica slowdowns must be positive numbers, got {string.Join(",", ReplicaSlowdowns)}");
        }

        if (MaxIdleSteps < 1)
        {
            throw new ArgumentException($"idle-step limit must be at least 1, got {MaxIdleSteps}");
        }
    }
}

/// <summary>How a simulation run ended.</summary>
public enum SimulationOutcome
{
    /// <summary>Every request arrived and ended on its own.</summary>
    Completed,

    /// <summary>The simulated-time cap was reached; unfinished requests were aborted.</summary>
    TimeCapReached,

    /// <summary>The scheduler stopped making progress; live requests were aborted.</summary>
    SchedulerStalled,
}

/// <summary>The outcome of running one workload under one policy.</summary>
public sealed record SimulationResult
{
    /// <summary>Workload name.</summary>
    public required string Workload { get; init; }

    /// <summary>Scheduling policy name.</summary>
    public required string Policy { get; init; }

    /// <summary>Engine limits of the run.</summary>
    public required EngineConfig Engine { get; init; }

    /// <summary>Exactly one record per workload request, in workload order.</summary>
    public required IReadOnlyList<RequestRecord> Records { get; init; }

    /// <summary>Metrics computed from <see cref="Records"/>.</summary>
    public required RunMetrics Metrics { get; init; }

    /// <summary>Engine counters (steps, tokens, preemptions).</summary>
    public required EngineStats Stats { get; init; }

    /// <summary>Simulated time at the end of the run, seconds.</summary>
    public required double SimulatedS { get; init; }

    /// <summary>Wall-clock time the run took, seconds (the only non-deterministic field).</summary>
    public required double WallS { get; init; }

    /// <summary>How the run ended.</summary>
    public required SimulationOutcome Outcome { get; init; }

    /// <summary>Replicas the workload was spread over (1: one engine).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Router that placed the requests on a fleet; null for one engine.</summary>
    public string? Router { get; init; }

    /// <summary>Simulated steps per wall-clock second.</summary>
    public double StepsPerWallS => WallS > 0 ? Stats.Steps / WallS : 0;
}
