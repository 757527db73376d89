using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>The true length (trace value): the upper reference, an oracle no real server has.</summary>
internal sealed class OracleLengthPredictor : ILengthPredictor
{
    /// <inheritdoc />
    public string Name => "oracle";

    /// <inheritdoc />
    public ILengthPosterior Predict(RequestSpec spec) => new Known(spec.OutputTokens);

    private sealed class Known(int length) : ILengthPosterior
    {
        public int BoundAfter(int generated) => Math.Max(length, generated + 1);
    }
}

/// <summary>
/// The artifact's default: every request is assumed to produce <see cref="DefaultLength"/> tokens (1024). Once a
/// request outlives that, the bound grows geometrically (×1.25) so remaining work never reaches zero (§4.3, Q6).
/// </summary>
internal sealed class FixedLengthPredictor(int defaultLength = FixedLengthPredictor.DefaultLength) : ILengthPredictor
{
    /// <summary>The artifact's DEFAULT_PREDICTION_LENGTH.</summary>
    public const int DefaultLength = 1024;

    /// <inheritdoc />
    public string Name => "fixed";

    /// <inheritdoc />
    public ILengthPosterior Predict(RequestSpec spec) => new Fixed(defaultLength);

    private sealed class Fixed(int length) : ILengthPosterior
    {
        public int BoundAfter(int generated) => generated < length ? length : (int)Math.Ceiling(generated * 1.25) + 1;
    }
}
