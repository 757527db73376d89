using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>
/// A prompt as token ids, exactly <see cref="RequestSpec.PromptTokens"/> long, so the server sees the workload's prompt
/// length whatever its tokenizer (a byte-level toy vocabulary turns a text prompt into several times as many tokens).
/// </summary>
internal static class PromptTokenIds
{
    /// <summary>Lowest id used: above the special ids (0-2 in llama-style vocabularies) with room to spare.</summary>
    public const int FirstId = 32;

    /// <summary>Distinct ids used; <see cref="FirstId"/> + this stays below 256, so any vocabulary of 256 tokens holds them.</summary>
    public const int Span = 200;

    /// <summary>The ids for <paramref name="spec"/>: deterministic, and starting at a per-request offset so unrelated requests share no cached prefix.</summary>
    public static int[] For(RequestSpec spec)
    {
        // id mod Span first, so a large id (named JSONL jobs number from 2^40) cannot overflow the multiplication.
        var offset = (int)(((spec.Id % Span) + Span) % Span) * 7919 % Span;
        var ids = new int[Math.Max(1, spec.PromptTokens)];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = FirstId + ((offset + i) % Span);
        }

        return ids;
    }
}
