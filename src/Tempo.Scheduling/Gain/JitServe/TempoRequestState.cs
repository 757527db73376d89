using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>Tempo's per-request data, kept in <see cref="EngineRequest.PolicyState"/> so the hot path needs no lookups.</summary>
internal sealed class TempoRequestState(ILengthPosterior posterior)
{
    /// <summary>The predictor's length distribution, refined as tokens are generated (§4.3).</summary>
    public ILengthPosterior Posterior { get; } = posterior;

    /// <summary>Generated tokens at the last refinement.</summary>
    public int RefinedAtGenerated { get; set; }

    /// <summary>The bound as last set by Tempo; a different value means the engine raised it.</summary>
    public int LastBound { get; set; }

    /// <summary>The job of a collective call; null otherwise.</summary>
    public CollectionTracker? Job { get; set; }

    /// <summary>A collective call's deadline relative to its own arrival (§5.4); NaN for other classes.</summary>
    public double DeadlineS { get; set; } = double.NaN;

    /// <summary>Epoch of <see cref="Key"/>; −1 when stale.</summary>
    public long KeyEpoch { get; set; } = -1;

    /// <summary>Cached priority key.</summary>
    public PriorityKey Key { get; set; }

    /// <summary>Re-plan scratch mark: equal to the re-plan's id while the request is in its chosen group.</summary>
    public long GroupMark { get; set; }

    /// <summary>Set when Tempo itself drops the request, so the job tracker knows the call did not complete.</summary>
    public bool DroppedByPolicy { get; set; }
}
