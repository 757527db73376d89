using Tempo.Scheduling;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Experiments;

/// <summary>A sweep: every policy at every rate, on workloads built per rate.</summary>
public sealed record ExperimentPlan
{
    /// <summary>Policy names, looked up in <see cref="PolicyRegistry"/>.</summary>
    public required IReadOnlyList<string> Policies { get; init; }

    /// <summary>Arrival rates (top-level arrivals per second) to sweep.</summary>
    public required IReadOnlyList<double> Rates { get; init; }

    /// <summary>Builds the workload for a rate. Called once per rate, serially, before any run; every policy replays the same workload.</summary>
    public required Func<double, Workload> Workload { get; init; }

    /// <summary>Cost profile (iteration latency and KV capacity).</summary>
    public required CostProfile Profile { get; init; }

    /// <summary>Sequences per step (vLLM max_num_seqs).</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Per-step token budget for every policy; null uses each policy's <see cref="PolicyInfo.DefaultTokenBudget"/>.</summary>
    public int? TokenBudget { get; init; }

    /// <summary>
    /// Multiplies the step costs every policy is told before it measures any (<see cref="StepCostPrior"/>, from the
    /// profile): 1 is the truth, 1.3 a belief 30% too slow. Policies that learn online correct it; the engine's
    /// true costs are never changed.
    /// </summary>
    public double CostBias { get; init; } = 1.0;

    /// <summary>
    /// Policies that can (<see cref="PolicyInfo.Sheds"/>) end requests whose SLO they can no longer meet; a shed request
    /// counts as missed.
    /// </summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>Replicas of the engine the workload is spread over (1: one engine); the rates are the fleet's.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Router that places requests on the replicas (<see cref="Fleet.RouterRegistry"/>), when there are several.</summary>
    public string Router { get; init; } = "round-robin";

    /// <summary>Seed passed to every scheduler.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Customises a run's scheduler options (for example to inject a length predictor), given the policy and the
    /// default options. Called once per run, possibly from several threads at once; return fresh stateful
    /// objects per call.
    /// </summary>
    public Func<PolicyInfo, SchedulerOptions, SchedulerOptions>? ConfigureOptions { get; init; }

    /// <summary>Options of each simulation.</summary>
    public SimulationOptions Simulation { get; init; } = new();

    /// <summary>Keep every run's request records in its <see cref="RunResult"/> (memory grows with runs × requests × tokens).</summary>
    public bool KeepRecords { get; init; }

    /// <summary>Runs executed at once; null means the processor count, 1 runs serially.</summary>
    public int? MaxParallelism { get; init; }
}
