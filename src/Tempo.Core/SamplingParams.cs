namespace Tempo.Core;

/// <summary>Token sampling of a real model (OpenAI request fields).</summary>
/// <param name="Temperature">0 means greedy (argmax).</param>
/// <param name="TopP">Nucleus mass in (0, 1].</param>
/// <param name="Seed">Sampler seed, for reproducible sampling.</param>
/// <param name="Stop">Stop strings; the response ends before the first occurrence.</param>
/// <param name="IgnoreEos">Keep generating after end-of-sequence (trace replay with fixed lengths).</param>
public sealed record SamplingParams(double Temperature = 0, double TopP = 1, int? Seed = null, IReadOnlyList<string>? Stop = null, bool IgnoreEos = false)
{
    /// <summary>Greedy decoding, no stop strings.</summary>
    public static SamplingParams Greedy { get; } = new();
}
