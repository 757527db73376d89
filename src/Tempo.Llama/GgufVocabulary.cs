using System.Globalization;

namespace Tempo.Llama;

/// <summary>
/// A SentencePiece-style vocabulary with byte fallback, which llama.cpp's "llama" tokenizer loads: unknown,
/// BOS and EOS, the 256 byte tokens, the word-boundary piece, then ordinary pieces (common words, letters,
/// letter pairs and triples). Any text tokenizes (unknown characters fall back to their UTF-8 bytes) and
/// detokenizes back to itself.
/// </summary>
public static class GgufVocabulary
{
    /// <summary>Id of the unknown token.</summary>
    public const int Unknown = 0;

    /// <summary>Id of the beginning-of-sequence token.</summary>
    public const int Bos = 1;

    /// <summary>Id of the end-of-sequence token.</summary>
    public const int Eos = 2;

    /// <summary>Smallest vocabulary: three special tokens, 256 byte tokens and the word-boundary piece.</summary>
    public const int MinimumSize = 260;

    /// <summary>SentencePiece's word-boundary marker, which stands for a space.</summary>
    internal const string Boundary = "\u2581";

    // Token types of the GGUF tokenizer.ggml.token_type array.
    internal const int NormalType = 1;
    internal const int UnknownType = 2;
    internal const int ControlType = 3;
    internal const int ByteType = 6;

    private static readonly string[] Words =
        ("the cat of a dog and to in is that for it as was with be by on not he I this are or his from at which but have an they you were her she " +
         "there one all we their been has when who will more no if out so said what up its about into than them can only other new some " +
         "could time these two may then do first any my now such like our over man me even most made after also did many before must " +
         "through back years where much your way well down should because each just those people how too little state good very make world " +
         "still own see men work long get here between both life being under never day same another know while last might us great old year " +
         "off come since against go came right used take three model token serve fast slow request deadline latency batch")
        .Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The pieces and their token types for a vocabulary of <paramref name="size"/> tokens.</summary>
    public static (string[] Pieces, int[] Types, float[] Scores) Create(int size)
    {
        if (size < MinimumSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a vocabulary needs at least {MinimumSize} tokens");
        }

        var pieces = new List<string>(size) { "<unk>", "<s>", "</s>" };
        var types = new List<int>(size) { UnknownType, ControlType, ControlType };
        for (var b = 0; b < 256; b++)
        {
            pieces.Add(string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>"));
            types.Add(ByteType);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var ordinary = OrdinaryPieces().GetEnumerator();
        while (pieces.Count < size)
        {
            if (!ordinary.MoveNext())
            {
                throw new ArgumentOutOfRangeException(nameof(size), size, "vocabulary larger than the generated piece list");
            }

            if (seen.Add(ordinary.Current))
            {
                pieces.Add(ordinary.Current);
                types.Add(NormalType);
            }
        }

        // SentencePiece merges the highest-scoring pieces first: earlier (more common) pieces score higher.
        var scores = new float[size];
        for (var i = 259; i < size; i++)
        {
            scores[i] = -(i - 259);
        }

        return ([.. pieces], [.. types], scores);
    }

    private static IEnumerable<string> OrdinaryPieces()
    {
        // SentencePiece builds a word by merging adjacent pieces whose concatenation is in the vocabulary, so a
        // word piece is reachable only if its prefixes are pieces too: single letters first, then every word
        // with all its prefixes.
        yield return Boundary;
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        foreach (var c in letters)
        {
            yield return Boundary + c;
            yield return c.ToString();
        }

        foreach (var w in Words)
        {
            for (var k = 1; k <= w.Length; k++)
            {
                yield return Boundary + w[..k];
            }
        }

        foreach (var c in ".,!?;:'\"-()0123456789")
        {
            yield return c.ToString();
        }

        foreach (var a in letters)
        {
            foreach (var b in letters)
            {
                yield return $"{a}{b}";
                yield return $"{Boundary}{a}{b}";
            }
        }

        foreach (var a in letters)
        {
            foreach (var b in letters)
            {
                foreach (var c in letters)
                {
                    yield return $"{a}{b}{c}";
                    yield return $"{Boundary}{a}{b}{c}";
                }
            }
        }

        foreach (var a in letters)
        {
            foreach (var b in letters)
            {
                foreach (var c in letters)
                {
                    foreach (var d in letters)
                    {
                        yield return $"{a}{b}{c}{d}";
                    }
                }
            }
        }
    }
}
