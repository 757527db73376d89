using Tempo.Engine;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling;

/// <summary>Everything a policy may need at construction; each policy reads what applies to it.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Engine limits the policy plans against.</summary>
    public required EngineConfig Engine { get; init; }

    /// <summary>Length predictor for policies that use one (sjf, tempo); null means the policy's default.</summary>
    public ILengthPredictor? Predictor { get; init; }

    /// <summary>Seed for any randomness inside the policy.</summary>
    public int Seed { get; init; }
}
