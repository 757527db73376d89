using Tempo.Core;
using Tempo.Engine;
using Tempo.Reports;

namespace Tempo.Simulation.Experiments;

/// <summary>One (policy, rate) run of a sweep.</summary>
public sealed record RunResult
{
    /// <summary>Policy name as registered.</summary>
    public required string Policy { get; init; }

    /// <summary>Arrival rate the workload was built for.</summary>
    public required double Rate { get; init; }

    /// <summary>Workload name.</summary>
    public required string Workload { get; init; }

    /// <summary>Engine limits of the run (batch cap, token budget, KV blocks).</summary>
    public required EngineConfig Engine { get; init; }

    /// <summary>Evaluation metrics.</summary>
    public required RunMetrics Metrics { get; init; }

    /// <summary>Engine counters.</summary>
    public required EngineStats Stats { get; init; }

    /// <summary>How the simulation ended.</summary>
    public required SimulationOutcome Outcome { get; init; }

    /// <summary>Simulated seconds at the end of the run.</summary>
    public required double SimulatedS { get; init; }

    /// <summary>Wall-clock seconds the run took.</summary>
    public required double WallS { get; init; }

    /// <summary>Simulated steps per wall-clock second.</summary>
    public double StepsPerWallS => WallS > 0 ? Stats.Steps / WallS : 0;

    /// <summary>Request records in workload order, when the plan kept them; otherwise null.</summary>
    public IReadOnlyList<RequestRecord>? Records { get; init; }

    /// <summary>This run as the results file reports it.</summary>
    public RunSummary ToSummary() =>
        new(Policy, Rate, Metrics, new EngineEntry(Stats.Steps, Stats.PrefillTokens, Stats.DecodeTokens, Stats.SwapOuts, Stats.SwapIns, Stats.Recomputes, Stats.BusyS), WallS);
}

/// <summary>All runs of a sweep, ordered by policy (plan order), then rate (plan order).</summary>
/// <param name="Plan">The plan that produced it.</param>
/// <param name="Runs">One result per (policy, rate).</param>
/// <param name="WallS">Wall-clock seconds of the whole sweep.</param>
public sealed record ExperimentResult(ExperimentPlan Plan, IReadOnlyList<RunResult> Runs, double WallS);

/// <summary>Progress of a sweep, reported each time a run finishes (in completion order, not plan order).</summary>
/// <param name="Completed">Runs finished so far, this one included.</param>
/// <param name="Total">Runs in the sweep.</param>
/// <param name="Run">The run that just finished.</param>
public readonly record struct RunProgress(int Completed, int Total, RunResult Run);
