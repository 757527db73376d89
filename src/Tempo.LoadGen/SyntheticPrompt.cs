using System.Text;

using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>
/// Prompt text of about <see cref="RequestSpec.PromptTokens"/> tokens. The server's tokenizer decides the real count,
/// so this is an approximation: we count one token per whitespace-separated word, which holds for the short common
/// English words used as filler in the Llama and GPT BPE vocabularies (each is one token with its leading space).
/// The workload's own prompt text is used when it has one, cut or padded with filler to the target word count.
/// </summary>
internal static class SyntheticPrompt
{
    // Common one-token words. A varied cycle rather than one repeated word: a degenerate prompt can trip repetition
    // heuristics, and starting at a per-request offset keeps different requests from sharing a cached prefix.
    private static readonly string[] Filler =
    [
        "the", "data", "report", "we", "found", "that", "some", "results", "were", "different", "from", "what",
        "our", "team", "expected", "after", "reading", "several", "pages", "and", "notes", "about", "this", "topic",
        "in", "previous", "meetings", "with", "a", "client", "who", "asked", "for", "more", "details", "on", "it",
        "new", "plan", "work", "time", "year", "people", "way", "day", "man", "thing", "world", "life", "hand",
        "part", "place", "case", "week", "system", "program", "question", "government", "number", "night", "point",
    ];

    /// <summary>The prompt for <paramref name="spec"/>.</summary>
    public static string For(RequestSpec spec)
    {
        var target = Math.Max(1, spec.PromptTokens);
        var sb = new StringBuilder(target * 6);
        var words = 0;
        if (!string.IsNullOrWhiteSpace(spec.PromptText))
        {
            foreach (var word in spec.PromptText.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                if (words == target)
                {
                    break;
                }

                Append(sb, word);
                words++;
            }
        }

        var next = (int)(Math.Abs(spec.Id * 7919) % Filler.Length);
        while (words < target)
        {
            Append(sb, Filler[next]);
            next = (next + 1) % Filler.Length;
            words++;
        }

        return sb.ToString();
    }

    private static void Append(StringBuilder sb, string word)
    {
        if (sb.Length > 0)
        {
            sb.Append(' ');
        }

        sb.Append(word);
    }
}
