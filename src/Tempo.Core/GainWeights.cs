namespace Tempo.Core;

/// <summary>Token weights of service gain: a decode token is worth <see cref="Decode"/> prompt tokens (paper: 1 and 8).</summary>
/// <param name="Prompt">Weight of one prompt (prefill) token.</param>
/// <param name="Decode">Weight of one output (decode) token.</param>
public sealed record GainWeights(double Prompt = 1, double Decode = 8)
{
    /// <summary>The paper's weights: prompt 1, decode 8.</summary>
    public static GainWeights Paper { get; } = new();

    /// <summary>Weighted value of a whole request.</summary>
    public double Of(int promptTokens, int outputTokens) => (Prompt * promptTokens) + (Decode * outputTokens);
}
