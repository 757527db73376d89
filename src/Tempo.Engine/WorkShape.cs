namespace Tempo.Engine;

/// <summary>
/// The shape of one sequence's work in a step, without the request: what a cost model prices and what a
/// calibration run measures. <see cref="BatchEntry.Shape"/> gives it for a planned entry.
/// </summary>
/// <param name="Tokens">Tokens processed (a prefill chunk, or 1 for a decode).</param>
/// <param name="ContextBefore">Tokens already in the sequence's KV before this step.</param>
/// <param name="IsDecode">True for a one-token decode, false for a prefill chunk.</param>
/// <param name="ProducesToken">True when an output token is sampled for the sequence after the pass.</param>
public readonly record struct WorkShape(int Tokens, int ContextBefore, bool IsDecode, bool ProducesToken)
{
    /// <summary>A decode of one token over <paramref name="context"/> cached tokens; it samples a token.</summary>
    public static WorkShape Decode(int context) => new(1, context, true, true);

    /// <summary>A prefill chunk of <paramref name="chunk"/> tokens over <paramref name="cached"/> cached tokens.</summary>
    public static WorkShape Prefill(int chunk, int cached, bool producesToken) => new(chunk, cached, false, producesToken);
}
