namespace Tempo.Llama;

/// <summary>Weight storage type of a generated model's matrices (norm vectors are always F32).</summary>
public enum GgufWeightType
{
    /// <summary>32-bit floats.</summary>
    F32,

    /// <summary>IEEE half floats.</summary>
    F16,

    /// <summary>llama.cpp Q8_0: blocks of 32 signed bytes with one F16 scale (8.5 bits per weight).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "llama.cpp's own name of the format.")]
    Q8_0,
}

/// <summary>Shape of a random-weight llama model written by <see cref="GgufModelWriter"/>.</summary>
public sealed record GgufModelOptions
{
    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Embedding width (n_embd); a multiple of 32 and of <see cref="Heads"/>.</summary>
    public int Embedding { get; init; } = 64;

    /// <summary>Vocabulary size, at least <see cref="GgufVocabulary.MinimumSize"/> (special and byte tokens).</summary>
    public int Vocabulary { get; init; } = 512;

    /// <summary>Training context length written into the model.</summary>
    public int Context { get; init; } = 2048;

    /// <summary>Attention heads; null means one per 64 embedding dimensions (at least one).</summary>
    public int? Heads { get; init; }

    /// <summary>Feed-forward width; null means 8/3 of the embedding rounded up to a multiple of 64.</summary>
    public int? FeedForward { get; init; }

    /// <summary>Storage type of the weight matrices.</summary>
    public GgufWeightType Type { get; init; } = GgufWeightType.F32;

    /// <summary>
    /// A chat template to store as <c>tokenizer.chat_template</c> (Jinja text, as real models carry it), or null for a
    /// file without one.
    /// </summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Seed of the weights; the same options give the same bytes.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Heads actually used.</summary>
    public int HeadCount => Heads ?? Math.Max(1, Embedding / 64);

    /// <summary>Feed-forward width actually used.</summary>
    public int FeedForwardWidth => FeedForward ?? ((((Embedding * 8 / 3) + 63) / 64) * 64);

    /// <summary>Number of weights in the model (norms included).</summary>
    public long ParameterCount
    {
        get
        {
            long e = Embedding, f = FeedForwardWidth;
            var perLayer = (2 * e) + (4 * e * e) + (3 * e * f);
            return (2 * e * Vocabulary) + e + (Layers * perLayer);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> when llama.cpp could not load a model of this shape.</summary>
    public void Validate()
    {
        Require(Layers is > 0 and <= 512, $"layers must be in 1..512, got {Layers}");
        Require(Embedding is > 0 and <= 65_536 && Embedding % 32 == 0, $"embedding must be a positive multiple of 32, got {Embedding}");
        Require(Vocabulary >= GgufVocabulary.MinimumSize && Vocabulary <= 262_144, $"vocabulary must be in {GgufVocabulary.MinimumSize}..262144 (special and byte tokens come first), got {Vocabulary}");
        Require(Context is >= 16 and <= 1 << 20, $"context must be in 16..1048576, got {Context}");
        Require(HeadCount > 0 && Embedding % HeadCount == 0, $"heads must divide the embedding {Embedding}, got {HeadCount}");
        Require((Embedding / HeadCount) % 2 == 0, $"head size {Embedding / HeadCount} must be even (rotary embedding)");
        Require(FeedForwardWidth > 0 && FeedForwardWidth % 32 == 0, $"feed-forward width must be a positive multiple of 32, got {FeedForwardWidth}");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
