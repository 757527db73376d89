using System.Text;

using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>
/// Prompt text of about <see cref="RequestSpec.PromptTokens"/> tokens. The server's tokenizer decides the real count,
/// so this is an approximation that two common estimates agree on: one token per whitespace-separated word (BPE
/// vocabularies such as Llama's and GPT's hold short common English words as one token with their leading space) and
/// four characters per token (the rule of thumb, and what tokenizer-less servers such as our simulated engine use).
/// A prompt is grown word by word while both estimates stay within the target: the workload's own prompt text first,
/// when it has one, then filler.
/// </summary>
internal static class SyntheticPrompt
{
    /// <summary>Characters per token of the second estimate.</summary>
    public const int CharsPerToken = 4;

    // Common three-letter words: with the separating space each is exactly four characters, so a filler prompt meets
    // both estimates at once. A varied cycle rather than one repeated word (a degenerate prompt can trip repetition
    // heuristics), started at a per-request offset so unrelated requests do not share a cached prefix.
    private static readonly string[] Filler =
    [
        "the", "and", "for", "you", "not", "are", "all", "new", "one", "can", "has", "was", "but", "our", "out", "day",
        "get", "may", "see", "way", "who", "now", "how", "its", "two", "man", "old", "any", "few", "use", "set", "end",
        "why", "let", "put", "say", "she", "too", "own", "big", "far", "off", "run", "got", "yes", "top", "low", "job",
    ];

    /// <summary>The prompt for <paramref name="spec"/>.</summary>
    public static string For(RequestSpec spec)
    {
        var target = Math.Max(1, spec.PromptTokens);
        var sb = new StringBuilder(target * CharsPerToken);
        var words = 0;
        if (!string.IsNullOrWhiteSpace(spec.PromptText))
        {
            foreach (var word in spec.PromptText.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryAppend(sb, ref words, word, target))
                {
                    break;
                }
            }
        }

        var next = (int)(Math.Abs(spec.Id * 7919) % Filler.Length);
        while (TryAppend(sb, ref words, Filler[next], target))
        {
            next = (next + 1) % Filler.Length;
        }

        if (sb.Length == 0)
        {
            // A first word longer than the whole budget: a prompt cannot be empty.
            sb.Append(Filler[next]);
        }

        return sb.ToString();
    }

    /// <summary>Estimated tokens of <paramref name="words"/> words in <paramref name="chars"/> characters.</summary>
    public static int Estimate(int words, int chars) => Math.Max(words, (chars + CharsPerToken - 1) / CharsPerToken);

    private static bool TryAppend(StringBuilder sb, ref int words, string word, int target)
    {
        var chars = sb.Length + (sb.Length > 0 ? 1 : 0) + word.Length;
        if (Estimate(words + 1, chars) > target)
        {
            return false;
        }

        if (sb.Length > 0)
        {
            sb.Append(' ');
        }

        sb.Append(word);
        words++;
        return true;
    }
}
