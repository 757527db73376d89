using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>
/// Predicts a conservative upper bound on a request's output length at admission (docs/TEMPO.md §4).
/// </summary>
public interface ILengthPredictor
{
    /// <summary>Registry name: "oracle", "fixed" or "qrf".</summary>
    string Name { get; }

    /// <summary>The bound at admission, with whatever the predictor needs to refine it later.</summary>
    ILengthPosterior Predict(RequestSpec spec);
}

/// <summary>A per-request length distribution that yields bounds as tokens are generated (§4.3).</summary>
public interface ILengthPosterior
{
    /// <summary>
    /// Upper bound on the total output length given that <paramref name="generated"/> tokens were produced without
    /// the response ending. Never below <c>generated + 1</c>; non-decreasing in <paramref name="generated"/>.
    /// </summary>
    int BoundAfter(int generated);

    /// <summary>
    /// The <paramref name="quantile"/>-quantile of the total output length given that <paramref name="generated"/>
    /// tokens were produced without the response ending; never below <c>generated + 1</c>. A posterior with no
    /// distribution (fixed, oracle) answers its single bound whatever the quantile.
    /// </summary>
    int QuantileAfter(int generated, double quantile) => BoundAfter(generated);
}
