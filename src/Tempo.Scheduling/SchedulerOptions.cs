using Tempo.Engine;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Gain.SelectEdf;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Scheduling;

/// <summary>Everything a policy may need at construction; each policy reads what applies to it.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Engine limits the policy plans against.</summary>
    public required EngineConfig Engine { get; init; }

    /// <summary>Length predictor for policies that use one (sjf, tempo); null means the policy's default.</summary>
    public ILengthPredictor? Predictor { get; init; }

    /// <summary>
    /// Step costs to start from, for policies that estimate time (tempo, jitserve, slos-serve); null means each
    /// policy's fixed default (20 ms a step), corrected online in either case.
    /// </summary>
    public StepCostPrior? StepCost { get; init; }

    /// <summary>
    /// Shed a request that has not produced a token once its SLO cannot be met (see <see cref="Core.SloShedding"/>), so
    /// its client or router can go elsewhere. Only policies whose <see cref="PolicyInfo.Sheds"/> is true judge that.
    /// </summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>Seed for any randomness inside the policy.</summary>
    public int Seed { get; init; }

    /// <summary>Parameters of the tempo policies; null means <see cref="TempoOptions.Default"/>.</summary>
    public TempoOptions? Tempo { get; init; }

    /// <summary>Parameters of <c>tempo</c> (ablations); null means the defaults. <see cref="Tempo"/> configures <c>jitserve</c>.</summary>
    public SelectEdfOptions? SelectEdf { get; init; }

    /// <summary>True call graphs of collective jobs by job id, for tempo-oracle's precise stage ratios (see <see cref="JobGraphs.FromRequests"/>); null makes it match templates.</summary>
    public IReadOnlyDictionary<long, RecordedJob>? TrueJobGraphs { get; init; }
}
