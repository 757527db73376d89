using Tempo.Engine;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Shortest predicted job first (the artifact's <c>ltr</c>, which is SJF on a predicted length, not a learned
/// ranker): requests are served by predicted remaining output, <c>LengthBound − Generated</c>, then arrival
/// (<see cref="RequestOrder.ShortestRemaining"/>). Chunked prefill, recompute preemption. The predictor's posterior
/// lives in <see cref="EngineRequest.PolicyState"/> and refreshes <see cref="EngineRequest.LengthBound"/> as tokens
/// are generated, so a request that outlives its prediction gets a larger bound rather than a remaining length of zero.
/// </summary>
internal sealed class ShortestJobFirstScheduler(string name, ILengthPredictor predictor) : ChunkedPrefillScheduler(name, RequestOrder.ShortestRemaining)
{
    /// <summary>The length predictor in use.</summary>
    public ILengthPredictor Predictor { get; } = predictor;

    /// <inheritdoc />
    public override void OnArrival(EngineRequest request)
    {
        var posterior = Predictor.Predict(request.Spec);
        request.PolicyState = posterior;
        request.LengthBound = posterior.BoundAfter(request.Generated);
    }

    /// <inheritdoc />
    public override void OnStepExecuted(SchedulerView view, double durationS)
    {
        // Only running requests produce tokens, so only their bounds can move.
        foreach (var r in view.Running)
        {
            if (r.PolicyState is ILengthPosterior posterior)
            {
                r.LengthBound = posterior.BoundAfter(r.Generated);
            }
        }
    }
}
