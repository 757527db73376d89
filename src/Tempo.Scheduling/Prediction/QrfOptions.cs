namespace Tempo.Scheduling.Prediction;

/// <summary>
/// Settings of the quantile regression forest length predictor (docs/TEMPO.md §4.2–4.3). The feature and
/// bound settings are saved with a trained model; the training settings are saved too, for provenance.
/// </summary>
public sealed record QrfOptions
{
    /// <summary>Number of trees T (1..65535).</summary>
    public int Trees { get; init; } = 100;

    /// <summary>A node is split only if both children keep at least this many (bootstrap) samples.</summary>
    public int MinSamplesLeaf { get; init; } = 8;

    /// <summary>
    /// Most targets a leaf keeps. A larger leaf (samples no feature can separate, such as many requests with the same
    /// prompt length in a token-count trace) keeps this many evenly spaced order statistics instead, with the same
    /// total weight, so one prediction pools at most T × this many targets.
    /// </summary>
    public int MaxLeafSamples { get; init; } = 64;

    /// <summary>
    /// Whether a leaf keeps the targets of every training row that reaches it (Meinshausen's definition, the default)
    /// rather than only the tree's bootstrap draw. The out-of-bag rows make the leaf distributions less over-fitted.
    /// </summary>
    public bool LeafTargetsFromAllRows { get; init; } = true;

    /// <summary>Maximum tree depth; nodes at this depth become leaves.</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>
    /// Fraction of the features present in a node's samples that are tried at each split (at least one). The
    /// regression-forest rule of thumb is one third.
    /// </summary>
    public double FeatureFraction { get; init; } = 1.0 / 3.0;

    /// <summary>Seed of the bootstrap and feature sampling; the same seed and data give the same model file bytes.</summary>
    public int Seed { get; init; }

    /// <summary>The quantile q of the conditional length distribution used as the bound (default 0.95).</summary>
    public double Quantile { get; init; } = 0.95;

    /// <summary>
    /// Optional cap on bounds (for example the model's context length). Applied only while it stays above the
    /// tokens already generated, so the bound is always greater than the generated count.
    /// </summary>
    public int? MaxBound { get; init; }

    /// <summary>
    /// Growth factor γ once a request has outlived every training neighbour: the bound becomes
    /// max(g + 1, ⌈γ·g⌉) (§4.3 recommends 1.25–1.5).
    /// </summary>
    public double OutlivedGrowth { get; init; } = 1.25;

    /// <summary>log2 of the number of hashed text buckets (4..20; default 12, 4096 buckets).</summary>
    public int TextHashBits { get; init; } = 12;

    /// <summary>Whether word bigrams are hashed in addition to unigrams.</summary>
    public bool Bigrams { get; init; } = true;

    /// <summary>Number of one-hot buckets for the app name of a request (0 disables the feature).</summary>
    public int AppBuckets { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Check(Trees is >= 1 and <= 65535, $"trees must be within 1..65535, got {Trees}");
        Check(MinSamplesLeaf >= 1, $"min samples per leaf must be at least 1, got {MinSamplesLeaf}");
        Check(MaxLeafSamples >= 1, $"max leaf samples must be at least 1, got {MaxLeafSamples}");
        Check(MaxDepth >= 0, $"max depth must be non-negative, got {MaxDepth}");
        Check(FeatureFraction is > 0 and <= 1, $"feature fraction must be within (0, 1], got {FeatureFraction}");
        Check(Quantile is > 0 and <= 1, $"quantile must be within (0, 1], got {Quantile}");
        Check(MaxBound is null or >= 1, $"max bound must be at least 1, got {MaxBound}");
        Check(double.IsFinite(OutlivedGrowth) && OutlivedGrowth >= 1, $"outlived growth must be a finite number ≥ 1, got {OutlivedGrowth}");
        Check(TextHashBits is >= 4 and <= 20, $"text hash bits must be within 4..20, got {TextHashBits}");
        Check(AppBuckets is >= 0 and <= 65536, $"app buckets must be within 0..65536, got {AppBuckets}");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException($"QRF options: {message}.");
        }
    }
}
