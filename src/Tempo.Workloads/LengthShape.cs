namespace Tempo.Workloads;

/// <summary>
/// The token-length distributions of a synthetic workload: log-normal raw prompts and outputs, each rounded and
/// clamped. <see cref="SyntheticChat"/> draws from one shape; the task kind shifts the output within it.
/// </summary>
/// <param name="PromptMedian">Median raw prompt tokens (before the chat template).</param>
/// <param name="PromptSigma">σ of ln(raw prompt tokens).</param>
/// <param name="MinRawPrompt">Smallest raw prompt.</param>
/// <param name="MaxRawPrompt">Largest raw prompt.</param>
/// <param name="OutputMedian">Median output tokens before the cap.</param>
/// <param name="OutputSigma">σ of ln(output tokens).</param>
/// <param name="MaxOutput">max_tokens of a call: outputs are capped here.</param>
internal sealed record LengthShape(
    double PromptMedian, double PromptSigma, int MinRawPrompt, int MaxRawPrompt,
    double OutputMedian, double OutputSigma, int MaxOutput)
{
    /// <summary>Chat (LMSYS-like, see <see cref="SyntheticChat"/>): prompts median 18, outputs median 193 capped at 1,024.</summary>
    public static LengthShape Chat { get; } = new(
        SyntheticChat.PromptMedian, SyntheticChat.PromptSigma, 1, SyntheticChat.MaxRawPromptTokens,
        SyntheticChat.OutputMedian, SyntheticChat.OutputSigma, SyntheticChat.MaxOutputTokens);

    /// <summary>
    /// Retrieval-augmented answers and code completion: prompts median 2,048 with σ 0.6 (p5 ≈ 760, p99 ≈ 8,000),
    /// clamped to [128, 8,192]; outputs median 20 with σ 0.8 (p95 ≈ 75), capped at 256.
    /// </summary>
    public static LengthShape PrefillHeavy { get; } = new(2048, 0.6, 128, 8192, 20, 0.8, 256);

    /// <summary>
    /// Reasoning: chat-sized prompts (median 60, σ 1.0, at most 2,048) and outputs median 1,000 with σ 0.9
    /// (p95 ≈ 4,400, p99 ≈ 8,000), capped at 8,192.
    /// </summary>
    public static LengthShape DecodeHeavy { get; } = new(60, 1.0, 1, 2048, 1000, 0.9, 8192);
}
