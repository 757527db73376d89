using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>
/// Turns a <see cref="RequestSpec"/> into the sparse feature vector the length forest splits on (§4.2):
/// <list type="bullet">
/// <item>index 0: log1p(prompt tokens), always present (the artifact uses text only; this is §4.2's extension);</item>
/// <item>indices 1..3: one-hot request class;</item>
/// <item>the next <c>appBuckets</c> indices: one-hot of a stable hash of the app name, when there is one;</item>
/// <item>the rest, <c>2^textHashBits</c> indices: hashed word unigrams (and bigrams) of the prompt text,
/// valued by log-TF (1 + ln count).</item>
/// </list>
/// Every value is positive and absent features are zero, so a tree can treat "not present" as the value 0. A spec
/// without prompt text (token-count traces) still gets the numeric features.
/// </summary>
internal sealed class LengthFeatures
{
    private const int PromptLengthIndex = 0;
    private const int ClassBase = 1;
    private const int ClassCount = 3;
    private const int AppBase = ClassBase + ClassCount;

    // FNV-1a 32-bit: stable across processes, unlike string.GetHashCode, so a saved model hashes words the same way
    // when it is loaded elsewhere.
    private const uint FnvOffset = 2166136261;
    private const uint FnvPrime = 16777619;

    [ThreadStatic]
    private static int[]? scratchCounts;

    [ThreadStatic]
    private static List<int>? scratchTouched;

    private readonly int textBase;
    private readonly int textMask;

    /// <summary>Creates an extractor; the three settings are part of a saved model.</summary>
    public LengthFeatures(int textHashBits, bool bigrams, int appBuckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(textHashBits, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(textHashBits, 20);
        ArgumentOutOfRangeException.ThrowIfNegative(appBuckets);
        TextHashBits = textHashBits;
        Bigrams = bigrams;
        AppBuckets = appBuckets;
        textBase = AppBase + appBuckets;
        textMask = (1 << textHashBits) - 1;
        Dimension = textBase + (1 << textHashBits);
    }

    /// <summary>log2 of the number of text hash buckets.</summary>
    public int TextHashBits { get; }

    /// <summary>Whether word bigrams are hashed in addition to unigrams.</summary>
    public bool Bigrams { get; }

    /// <summary>Number of one-hot buckets for the app name (0 disables the feature).</summary>
    public int AppBuckets { get; }

    /// <summary>Total number of feature indices.</summary>
    public int Dimension { get; }

    /// <summary>Index of the first text bucket (everything below is numeric or categorical).</summary>
    public int TextBase => textBase;

    /// <summary>
    /// Writes the non-zero features of <paramref name="spec"/> into <paramref name="indices"/> and
    /// <paramref name="values"/> (cleared first), indices ascending.
    /// </summary>
    public void Extract(RequestSpec spec, List<int> indices, List<float> values)
    {
        indices.Clear();
        values.Clear();
        indices.Add(PromptLengthIndex);
        values.Add((float)Math.Log(1 + Math.Max(0, spec.PromptTokens)));
        var cls = (int)spec.Class;
        if (cls is >= 0 and < ClassCount)
        {
            indices.Add(ClassBase + cls);
            values.Add(1f);
        }

        if (AppBuckets > 0 && !string.IsNullOrEmpty(spec.App))
        {
            indices.Add(AppBase + (int)(HashWord(spec.App.AsSpan()) % (uint)AppBuckets));
            values.Add(1f);
        }

        if (!string.IsNullOrEmpty(spec.PromptText))
        {
            AppendText(spec.PromptText, indices, values);
        }
    }

    private void AppendText(string text, List<int> indices, List<float> values)
    {
        // Per-thread scratch, kept all-zero between calls, so counting is O(words) with no allocation.
        var buckets = 1 << TextHashBits;
        if (scratchCounts is null || scratchCounts.Length < buckets)
        {
            scratchCounts = new int[buckets];
        }

        var counts = scratchCounts;
        var touched = scratchTouched ??= [];
        touched.Clear();
        try
        {
            var previous = 0u;
            var hasPrevious = false;
            var i = 0;
            while (i < text.Length)
            {
                // Simple tokenizer: maximal runs of letters or digits, lower-cased; everything else separates.
                if (!char.IsLetterOrDigit(text[i]))
                {
                    i++;
                    continue;
                }

                var start = i;
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }

                var word = HashWord(text.AsSpan(start, i - start));
                Count(counts, touched, (int)(word & (uint)textMask));
                if (Bigrams && hasPrevious)
                {
                    // Order matters in a bigram, so mix rather than xor the two word hashes.
                    var bigram = ((previous * FnvPrime) ^ 0x9E3779B9u) * FnvPrime ^ word;
                    Count(counts, touched, (int)(Mix(bigram) & (uint)textMask));
                }

                previous = word;
                hasPrevious = true;
            }

            touched.Sort();
            foreach (var bucket in touched)
            {
                indices.Add(textBase + bucket);
                values.Add(1f + (float)Math.Log(counts[bucket]));
                counts[bucket] = 0;
            }
        }
        catch
        {
            // Keep the all-zero invariant even if something above throws.
            foreach (var bucket in touched)
            {
                counts[bucket] = 0;
            }

            throw;
        }
    }

    private static void Count(int[] counts, List<int> touched, int bucket)
    {
        if (counts[bucket]++ == 0)
        {
            touched.Add(bucket);
        }
    }

    private static uint HashWord(ReadOnlySpan<char> word)
    {
        var h = FnvOffset;
        foreach (var c in word)
        {
            h = (h ^ char.ToLowerInvariant(c)) * FnvPrime;
        }

        return Mix(h);
    }

    // FNV's low bits are weak; a final avalanche (murmur3 fmix32) spreads them before masking.
    private static uint Mix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6B;
        h ^= h >> 13;
        h *= 0xC2B2AE35;
        h ^= h >> 16;
        return h;
    }
}
