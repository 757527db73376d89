using System.Buffers.Binary;
using System.Text;

using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>
/// The quantile regression forest length predictor ("qrf", docs/TEMPO.md §4): hashed prompt-text features
/// plus log prompt length, class and app, a forest whose leaves keep their training targets, and the
/// q-quantile of the pooled leaf distribution as the bound, refined as tokens are generated (§4.3).
/// Deviation from the artifact: features include prompt length, class and app (the artifact uses text only), so
/// token-count traces without text still get a useful bound; inference runs in-process with no prompt-size limit (Q5).
/// </summary>
public sealed class QrfLengthPredictor : ILengthPredictor
{
    private const string Magic = "TEMPOQRF";
    private const int FormatVersion = 1;

    [ThreadStatic]
    private static float[]? scratchDense;

    [ThreadStatic]
    private static List<int>? scratchIndices;

    [ThreadStatic]
    private static List<float>? scratchValues;

    private readonly LengthFeatures features;
    private readonly QuantileForest forest;

    private QrfLengthPredictor(QrfOptions options, int trainingRows, LengthFeatures features, QuantileForest forest)
    {
        Options = options;
        TrainingRows = trainingRows;
        this.features = features;
        this.forest = forest;
    }

    /// <inheritdoc />
    public string Name => "qrf";

    /// <summary>The settings the model was trained with, including the bound settings currently in force.</summary>
    public QrfOptions Options { get; }

    /// <summary>The quantile q of the bound.</summary>
    public double Quantile => Options.Quantile;

    /// <summary>Number of training requests.</summary>
    public int TrainingRows { get; }

    internal QuantileForest Forest => forest;

    internal LengthFeatures Features => features;

    /// <summary>
    /// Trains a forest on requests whose <see cref="RequestSpec.OutputTokens"/> is the true response length.
    /// Deterministic: the same requests (in the same order) and options give the same model file bytes.
    /// </summary>
    /// <exception cref="ArgumentException">No requests, a non-positive output length, or invalid options.</exception>
    public static QrfLengthPredictor Train(IEnumerable<RequestSpec> specs, QrfOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(specs);
        options ??= new QrfOptions();
        options.Validate();
        var features = new LengthFeatures(options.TextHashBits, options.Bigrams, options.AppBuckets);
        var rowStart = new List<int> { 0 };
        var index = new List<int>();
        var value = new List<float>();
        var targets = new List<int>();
        var rowIndices = new List<int>();
        var rowValues = new List<float>();
        foreach (var spec in specs)
        {
            if (spec.OutputTokens < 1)
            {
                throw new ArgumentException($"request {spec.Id}: a training request needs a positive output length, got {spec.OutputTokens}.", nameof(specs));
            }

            features.Extract(spec, rowIndices, rowValues);
            index.AddRange(rowIndices);
            value.AddRange(rowValues);
            rowStart.Add(index.Count);
            targets.Add(spec.OutputTokens);
        }

        if (targets.Count == 0)
        {
            throw new ArgumentException("QRF training needs at least one request.", nameof(specs));
        }

        var rows = new SparseRows([.. rowStart], [.. index], [.. value]);
        var forest = QuantileForest.Train(rows, [.. targets], features.Dimension, options);
        return new QrfLengthPredictor(options, targets.Count, features, forest);
    }

    /// <inheritdoc />
    public ILengthPosterior Predict(RequestSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (values, cdf) = Distribution(spec);
        return new QuantilePosterior(values, cdf, Options.Quantile, Options.MaxBound, Options.OutlivedGrowth);
    }

    /// <summary>The same forest with a different bound quantile q.</summary>
    public QrfLengthPredictor WithQuantile(double quantile) => WithBoundSettings(Options with { Quantile = quantile });

    /// <summary>The same forest with a different cap on bounds (null: no cap).</summary>
    public QrfLengthPredictor WithMaxBound(int? maxBound) => WithBoundSettings(Options with { MaxBound = maxBound });

    /// <summary>Writes the model to <paramref name="path"/> (see <see cref="Save(Stream)"/>).</summary>
    public void Save(string path)
    {
        using var file = File.Create(path);
        Save(file);
    }

    /// <summary>
    /// Writes the model in a compact little-endian binary format: the header "TEMPOQRF" and a format version, the
    /// options, the trees' flat arrays, and an FNV-1a 64 checksum of everything before it.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.ASCII, leaveOpen: true))
        {
            w.Write(Encoding.ASCII.GetBytes(Magic));
            w.Write(FormatVersion);
            WriteOptions(w, Options);
            w.Write(TrainingRows);
            w.Write(forest.Dimension);
            w.Write(forest.Trees.Length);
            foreach (var tree in forest.Trees)
            {
                w.Write(tree.Root);
                w.Write(tree.Nodes.Length);
                foreach (var node in tree.Nodes)
                {
                    w.Write(node.Feature);
                    w.Write(node.Threshold);
                    w.Write(node.Left);
                    w.Write(node.Right);
                }

                w.Write(tree.LeafCount);
                WriteAll(w, tree.LeafStart);
                WriteAll(w, tree.LeafTargets);
            }
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        stream.Write(bytes);
        Span<byte> checksum = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, Fnv1a64(bytes));
        stream.Write(checksum);
    }

    /// <summary>Reads a model written by <see cref="Save(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a Tempo QRF model, has another format version, or is corrupt.</exception>
    public static QrfLengthPredictor Load(string path)
    {
        using var file = File.OpenRead(path);
        try
        {
            return Load(file);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>Reads a model written by <see cref="Save(Stream)"/>.</summary>
    /// <exception cref="InvalidDataException">The data is not a Tempo QRF model, has another format version, or is corrupt.</exception>
    public static QrfLengthPredictor Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        var header = Magic.Length + sizeof(int);
        if (bytes.Length < header || Encoding.ASCII.GetString(bytes[..Magic.Length]) != Magic)
        {
            throw new InvalidDataException("not a Tempo QRF length model (no TEMPOQRF header).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(Magic.Length, sizeof(int)));
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"QRF model format version {version} is not supported (this build reads version {FormatVersion}).");
        }

        if (bytes.Length < header + sizeof(ulong))
        {
            throw new InvalidDataException("QRF model file is truncated.");
        }

        var payload = bytes[..^sizeof(ulong)];
        var stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[^sizeof(ulong)..]);
        if (stored != Fnv1a64(payload))
        {
            throw new InvalidDataException("QRF model file is corrupt or truncated (checksum mismatch).");
        }

        using var r = new BinaryReader(new MemoryStream(copy.GetBuffer(), header, payload.Length - header, writable: false));
        try
        {
            return Read(r);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException)
        {
            throw new InvalidDataException($"QRF model file is malformed: {e.Message}", e);
        }
    }

    internal (int[] Values, double[] Cdf) Distribution(RequestSpec spec)
    {
        var indices = scratchIndices ??= [];
        var values = scratchValues ??= [];
        features.Extract(spec, indices, values);
        if (scratchDense is null || scratchDense.Length < features.Dimension)
        {
            scratchDense = new float[features.Dimension];
        }

        // The dense buffer is all-zero between calls; only the features this request sets are written and reset.
        var dense = scratchDense;
        for (var i = 0; i < indices.Count; i++)
        {
            dense[indices[i]] = values[i];
        }

        try
        {
            return forest.Distribution(dense);
        }
        finally
        {
            foreach (var i in indices)
            {
                dense[i] = 0f;
            }
        }
    }

    /// <summary>The same forest with the bound settings (quantile, cap, growth) of <paramref name="other"/>.</summary>
    internal QrfLengthPredictor WithBoundSettingsOf(QrfOptions other) =>
        WithBoundSettings(Options with { Quantile = other.Quantile, MaxBound = other.MaxBound, OutlivedGrowth = other.OutlivedGrowth });

    private QrfLengthPredictor WithBoundSettings(QrfOptions options)
    {
        options.Validate();
        return new QrfLengthPredictor(options, TrainingRows, features, forest);
    }

    private static void WriteOptions(BinaryWriter w, QrfOptions o)
    {
        w.Write(o.Trees);
        w.Write(o.MinSamplesLeaf);
        w.Write(o.MaxLeafSamples);
        w.Write(o.LeafTargetsFromAllRows);
        w.Write(o.MaxDepth);
        w.Write(o.FeatureFraction);
        w.Write(o.Seed);
        w.Write(o.Quantile);
        w.Write(o.MaxBound ?? 0);
        w.Write(o.OutlivedGrowth);
        w.Write(o.TextHashBits);
        w.Write(o.Bigrams);
        w.Write(o.AppBuckets);
    }

    private static QrfOptions ReadOptions(BinaryReader r)
    {
        var options = new QrfOptions
        {
            Trees = r.ReadInt32(),
            MinSamplesLeaf = r.ReadInt32(),
            MaxLeafSamples = r.ReadInt32(),
            LeafTargetsFromAllRows = r.ReadBoolean(),
            MaxDepth = r.ReadInt32(),
            FeatureFraction = r.ReadDouble(),
            Seed = r.ReadInt32(),
            Quantile = r.ReadDouble(),
            MaxBound = r.ReadInt32() is var cap and > 0 ? cap : null,
            OutlivedGrowth = r.ReadDouble(),
            TextHashBits = r.ReadInt32(),
            Bigrams = r.ReadBoolean(),
            AppBuckets = r.ReadInt32(),
        };
        options.Validate();
        return options;
    }

    private static QrfLengthPredictor Read(BinaryReader r)
    {
        var options = ReadOptions(r);
        var trainingRows = r.ReadInt32();
        var features = new LengthFeatures(options.TextHashBits, options.Bigrams, options.AppBuckets);
        var dimension = r.ReadInt32();
        var treeCount = r.ReadInt32();
        Require(dimension == features.Dimension, $"feature dimension {dimension} does not match the feature settings ({features.Dimension})");
        Require(treeCount == options.Trees, $"{treeCount} trees stored but the options say {options.Trees}");
        var trees = new QuantileForest.Tree[treeCount];
        for (var t = 0; t < treeCount; t++)
        {
            var root = r.ReadInt32();
            var nodes = new QuantileForest.SplitNode[ReadCount(r, 16)];
            for (var i = 0; i < nodes.Length; i++)
            {
                nodes[i] = new QuantileForest.SplitNode(r.ReadInt32(), r.ReadSingle(), r.ReadInt32(), r.ReadInt32());
            }

            var leaves = ReadCount(r, 8);
            var leafStart = ReadInts(r, leaves + 1);
            Require(leafStart[0] == 0 && leafStart[^1] >= leaves, $"tree {t}: bad leaf offsets");
            var leafTargets = ReadInts(r, leafStart[^1]);
            ValidateTree(t, root, nodes, leafStart, leafTargets, dimension);
            trees[t] = new QuantileForest.Tree(root, nodes, leafStart, leafTargets);
        }

        Require(r.BaseStream.Position == r.BaseStream.Length, "unexpected bytes after the last tree");
        return new QrfLengthPredictor(options, trainingRows, features, new QuantileForest(dimension, trees));
    }

    // Checks everything prediction relies on, so a damaged file fails here rather than with an index error later.
    // Children must have larger indices than their parent (trees are stored pre-order), which rules out cycles.
    private static void ValidateTree(int t, int root, QuantileForest.SplitNode[] splits, int[] leafStart, int[] leafTargets, int dimension)
    {
        var nodes = splits.Length;
        var leaves = leafStart.Length - 1;
        Require(nodes == 0 ? root == ~0 : root == 0, $"tree {t}: bad root");
        Require(leaves == nodes + 1, $"tree {t}: {nodes} internal nodes need {nodes + 1} leaves, found {leaves}");
        for (var i = 0; i < nodes; i++)
        {
            var (feature, threshold, left, right) = splits[i];
            Require(feature >= 0 && feature < dimension, $"tree {t}: node {i} splits on feature {feature} outside 0..{dimension - 1}");
            Require(float.IsFinite(threshold), $"tree {t}: node {i} has a non-finite threshold");
            foreach (var child in (ReadOnlySpan<int>)[left, right])
            {
                Require(child >= 0 ? child > i && child < nodes : ~child < leaves, $"tree {t}: node {i} has an invalid child {child}");
            }
        }

        for (var l = 0; l < leaves; l++)
        {
            Require(leafStart[l + 1] > leafStart[l], $"tree {t}: leaf {l} is empty or its offsets decrease");
            for (var i = leafStart[l]; i < leafStart[l + 1]; i++)
            {
                Require(leafTargets[i] >= 1 && (i == leafStart[l] || leafTargets[i] >= leafTargets[i - 1]), $"tree {t}: leaf {l} targets must be positive and ascending");
            }
        }
    }

    private static int ReadCount(BinaryReader r, int bytesEach)
    {
        var n = r.ReadInt32();
        Require(n >= 0 && (long)n * bytesEach <= r.BaseStream.Length - r.BaseStream.Position, $"count {n} exceeds the file");
        return n;
    }

    private static int[] ReadInts(BinaryReader r, int n)
    {
        Require(n >= 0 && (long)n * sizeof(int) <= r.BaseStream.Length - r.BaseStream.Position, $"array of {n} exceeds the file");
        var a = new int[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = r.ReadInt32();
        }

        return a;
    }

    private static void WriteAll(BinaryWriter w, int[] values)
    {
        foreach (var v in values)
        {
            w.Write(v);
        }
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new InvalidDataException($"QRF model file is malformed: {message}.");
        }
    }

    private static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return h;
    }
}
