using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>
/// How good a set of length bounds is against the true lengths. A sample is one (request, bound) pair; it is
/// covered when the true length ≤ the bound. The over-estimate of a sample is bound − true length (in tokens; it is
/// also the over-estimate of the remaining work at any point, since both sides subtract the same generated count).
/// </summary>
/// <param name="Samples">Number of (request, bound) pairs.</param>
/// <param name="Coverage">Fraction of samples with true length ≤ bound (a q bound should reach about q).</param>
/// <param name="MeanOverEstimate">Mean of bound − true over all samples (negative parts are under-estimates).</param>
/// <param name="MedianOverEstimate">Median of bound − true over all samples.</param>
/// <param name="MeanOverEstimateCovered">Mean of bound − true over covered samples only (how much slack a safe bound carries).</param>
/// <param name="MedianOverEstimateCovered">Median of bound − true over covered samples only.</param>
/// <param name="MeanShortfall">Mean of true − bound over uncovered samples (0 when all are covered).</param>
public sealed record BoundQuality(
    int Samples,
    double Coverage,
    double MeanOverEstimate,
    double MedianOverEstimate,
    double MeanOverEstimateCovered,
    double MedianOverEstimateCovered,
    double MeanShortfall)
{
    /// <summary>Summarises (bound, true length) pairs; NaN statistics when a group is empty.</summary>
    public static BoundQuality Of(IReadOnlyList<(int Bound, int Truth)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var all = new double[pairs.Count];
        var covered = new List<double>(pairs.Count);
        var shortfall = 0.0;
        for (var i = 0; i < pairs.Count; i++)
        {
            var over = (double)pairs[i].Bound - pairs[i].Truth;
            all[i] = over;
            if (over >= 0)
            {
                covered.Add(over);
            }
            else
            {
                shortfall -= over;
            }
        }

        Array.Sort(all);
        covered.Sort();
        var uncovered = pairs.Count - covered.Count;
        return new BoundQuality(
            pairs.Count,
            pairs.Count == 0 ? double.NaN : (double)covered.Count / pairs.Count,
            all.Length == 0 ? double.NaN : all.Average(),
            Percentile.OfSorted(all, 0.5),
            covered.Count == 0 ? double.NaN : covered.Average(),
            Percentile.OfSorted(covered, 0.5),
            uncovered == 0 ? 0 : shortfall / uncovered);
    }
}

/// <summary>
/// Held-out evaluation of a length predictor (the library side of <c>tempo predictor eval</c>).
/// </summary>
/// <param name="Predictor">The predictor's name.</param>
/// <param name="Quantile">The QRF's nominal quantile q, which <see cref="BoundQuality.Coverage"/> should approach; null for other predictors.</param>
/// <param name="Requests">Number of held-out requests.</param>
/// <param name="CheckpointStride">Spacing K of the refinement checkpoints, in tokens.</param>
/// <param name="AtAdmission">One sample per request: the bound at admission, <c>BoundAfter(0)</c>.</param>
/// <param name="WithoutRefinement">
/// One sample per (request, checkpoint g) for g = 0, K, 2K, … &lt; true length: the admission bound kept unchanged, as
/// the artifact does. Long requests contribute more samples, in proportion to the decode time they are in flight.
/// </param>
/// <param name="WithRefinement">The same (request, checkpoint g) samples with the refined bound <c>BoundAfter(g)</c> (§4.3).</param>
public sealed record PredictorEvaluation(
    string Predictor,
    double? Quantile,
    int Requests,
    int CheckpointStride,
    BoundQuality AtAdmission,
    BoundQuality WithoutRefinement,
    BoundQuality WithRefinement)
{
    /// <summary>The default refinement spacing K (§4.3 suggests 32 or 64 tokens).</summary>
    public const int DefaultCheckpointStride = 32;

    /// <summary>
    /// Predicts every held-out request (their <see cref="RequestSpec.OutputTokens"/> are the true lengths) and
    /// measures the bounds at admission and at checkpoints g = 0, K, 2K, … &lt; true length, with and without refinement.
    /// </summary>
    public static PredictorEvaluation Evaluate(ILengthPredictor predictor, IReadOnlyList<RequestSpec> heldOut, int checkpointStride = DefaultCheckpointStride)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpointStride, 1);
        var admission = new List<(int, int)>(heldOut.Count);
        var fixedBound = new List<(int, int)>();
        var refined = new List<(int, int)>();
        foreach (var spec in heldOut)
        {
            var truth = spec.OutputTokens;
            var posterior = predictor.Predict(spec);
            var initial = posterior.BoundAfter(0);
            admission.Add((initial, truth));
            for (var g = 0; g < truth; g += checkpointStride)
            {
                fixedBound.Add((initial, truth));
                refined.Add((posterior.BoundAfter(g), truth));
            }
        }

        return new PredictorEvaluation(
            predictor.Name,
            (predictor as QrfLengthPredictor)?.Quantile,
            heldOut.Count,
            checkpointStride,
            BoundQuality.Of(admission),
            BoundQuality.Of(fixedBound),
            BoundQuality.Of(refined));
    }
}
