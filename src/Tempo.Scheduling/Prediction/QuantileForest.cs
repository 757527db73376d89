using System.Buffers;
using System.Numerics;

namespace Tempo.Scheduling.Prediction;

/// <summary>Training rows in compressed sparse row form; every stored value is positive, absent means 0.</summary>
/// <param name="RowStart">Row r's entries are <c>[RowStart[r], RowStart[r + 1])</c>; length = rows + 1.</param>
/// <param name="Index">Feature index of each entry, ascending within a row.</param>
/// <param name="Value">Value of each entry.</param>
internal sealed record SparseRows(int[] RowStart, int[] Index, float[] Value)
{
    /// <summary>Number of rows.</summary>
    public int Count => RowStart.Length - 1;

    /// <summary>The value of feature <paramref name="feature"/> in row <paramref name="row"/> (0 when absent).</summary>
    public float Get(int row, int feature)
    {
        var start = RowStart[row];
        var at = Array.BinarySearch(Index, start, RowStart[row + 1] - start, feature);
        return at >= 0 ? Value[at] : 0f;
    }
}

/// <summary>
/// A quantile regression forest (Meinshausen 2006; docs/TEMPO.md §4.2): bagged CART regression trees with
/// variance-reduction splits whose leaves keep every training target that reached them, so a prediction is a
/// whole conditional distribution rather than a mean. Trees are flat arrays: internal node i tests
/// <c>x[Feature] ≤ Threshold</c>; a child code c ≥ 0 is an internal node, c &lt; 0 is leaf <c>~c</c>.
/// Written here rather than taken from ML.NET (ECOSYSTEM.md A.3): small, deterministic, and sparse-aware.
/// </summary>
internal sealed class QuantileForest
{
    private const double SplitEpsilon = 1e-10;

    internal QuantileForest(int dimension, Tree[] trees)
    {
        Dimension = dimension;
        Trees = trees;
    }

    /// <summary>Number of feature indices a row may use.</summary>
    public int Dimension { get; }

    /// <summary>The trees.</summary>
    public Tree[] Trees { get; }

    /// <summary>
    /// Trains <see cref="QrfOptions.Trees"/> trees, each on a bootstrap sample. Each tree draws from its own
    /// <see cref="Random"/> seeded from <see cref="QrfOptions.Seed"/>, so trees train in parallel and the
    /// forest is still identical for the same seed.
    /// </summary>
    public static QuantileForest Train(SparseRows rows, int[] targets, int dimension, QrfOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rows.Count);
        if (targets.Length != rows.Count)
        {
            throw new ArgumentException("one target per row is required", nameof(targets));
        }

        var master = new Random(options.Seed);
        var seeds = new int[options.Trees];
        for (var t = 0; t < seeds.Length; t++)
        {
            seeds[t] = master.Next();
        }

        var trees = new Tree[options.Trees];
        Parallel.For(0, trees.Length, t => trees[t] = new TreeBuilder(rows, targets, dimension, options, seeds[t]).Build());
        return new QuantileForest(dimension, trees);
    }

    /// <summary>
    /// Pools the leaves <paramref name="dense"/> reaches, each target of tree t's leaf weighted 1/(T·|leaf|), into a
    /// sorted weighted histogram: distinct target values ascending and the cumulative weight F at each.
    /// </summary>
    public (int[] Values, double[] Cdf) Distribution(float[] dense)
    {
        var treeCount = Trees.Length;
        var leafOf = ArrayPool<int>.Shared.Rent(treeCount);
        var total = 0;
        for (var t = 0; t < treeCount; t++)
        {
            var leaf = Trees[t].LeafOf(dense);
            leafOf[t] = leaf;
            total += Trees[t].LeafSize(leaf);
        }

        var entries = ArrayPool<long>.Shared.Rent(2 * total);
        try
        {
            var weightOf = ArrayPool<double>.Shared.Rent(treeCount);
            for (var t = 0; t < treeCount; t++)
            {
                weightOf[t] = 1.0 / ((double)treeCount * Trees[t].LeafSize(leafOf[t]));
            }

            // Entry = target in the high 32 bits, tree in the low bits (to recover its weight).
            var k = 0;
            var max = 0;
            for (var t = 0; t < treeCount; t++)
            {
                var tree = Trees[t];
                var leaf = leafOf[t];
                for (var i = tree.LeafStart[leaf]; i < tree.LeafStart[leaf + 1]; i++)
                {
                    var target = tree.LeafTargets[i];
                    max = Math.Max(max, target);
                    entries[k++] = ((long)target << 32) | (uint)t;
                }
            }

            var sorted = RadixSortByTarget(entries.AsSpan(0, total), entries.AsSpan(total, total), max);
            var distinct = 0;
            for (var i = 0; i < total; i++)
            {
                if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32))
                {
                    distinct++;
                }
            }

            var values = new int[distinct];
            var cdf = new double[distinct];
            var cumulative = 0.0;
            var at = -1;
            for (var i = 0; i < total; i++)
            {
                var target = (int)(sorted[i] >> 32);
                var t = (int)(uint)sorted[i];
                cumulative += weightOf[t];
                if (at < 0 || values[at] != target)
                {
                    values[++at] = target;
                }

                cdf[at] = cumulative;
            }

            // The weights sum to 1 up to rounding; pin the top so "outlived every neighbour" is exact.
            cdf[^1] = 1.0;
            ArrayPool<double>.Shared.Return(weightOf);
            return (values, cdf);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(entries);
            ArrayPool<int>.Shared.Return(leafOf);
        }
    }

    /// <summary>
    /// Stable LSD radix sort of entries by their high 32 bits (non-negative targets ≤ <paramref name="max"/>), in as
    /// few passes of at most 11 bits as the largest target needs. Pooling T leaves gives ~10·T entries; a comparison
    /// sort of those is dominated by branch mispredictions, while one or two counting passes are not. Returns
    /// whichever buffer holds the result.
    /// </summary>
    private static Span<long> RadixSortByTarget(Span<long> items, Span<long> scratch, int max)
    {
        const int maxBits = 11;
        var totalBits = 32 - BitOperations.LeadingZeroCount((uint)max);
        var passes = (totalBits + maxBits - 1) / maxBits;
        if (passes == 0)
        {
            return items;
        }

        var bits = (totalBits + passes - 1) / passes;
        var mask = (1 << bits) - 1;
        Span<int> offsets = stackalloc int[1 << maxBits];
        offsets = offsets[..(1 << bits)];
        var source = items;
        var destination = scratch;
        for (var pass = 0; pass < passes; pass++)
        {
            var shift = 32 + (pass * bits);
            offsets.Clear();
            foreach (var e in source)
            {
                offsets[(int)(e >>> shift) & mask]++;
            }

            var sum = 0;
            for (var b = 0; b < offsets.Length; b++)
            {
                var c = offsets[b];
                offsets[b] = sum;
                sum += c;
            }

            foreach (var e in source)
            {
                destination[offsets[(int)(e >>> shift) & mask]++] = e;
            }

            var swap = source;
            source = destination;
            destination = swap;
        }

        return source;
    }

    /// <summary>An internal node: <c>x[Feature] ≤ Threshold</c> goes to <c>Left</c>, else <c>Right</c> (child codes).</summary>
    /// <param name="Feature">Split feature.</param>
    /// <param name="Threshold">Split threshold.</param>
    /// <param name="Left">Left child code.</param>
    /// <param name="Right">Right child code.</param>
    internal readonly record struct SplitNode(int Feature, float Threshold, int Left, int Right);

    /// <summary>One tree, in flat arrays (see <see cref="QuantileForest"/>).</summary>
    internal sealed class Tree
    {
        /// <summary>Creates a tree; callers (training, loading) guarantee the arrays are consistent.</summary>
        public Tree(int root, SplitNode[] nodes, int[] leafStart, int[] leafTargets)
        {
            Root = root;
            Nodes = nodes;
            LeafStart = leafStart;
            LeafTargets = leafTargets;
        }

        /// <summary>Child code of the root: 0 when the tree has internal nodes, ~0 when it is a single leaf.</summary>
        public int Root { get; }

        /// <summary>Internal nodes in pre-order (children after their parent), 16 bytes each so a step touches one cache line.</summary>
        public SplitNode[] Nodes { get; }

        /// <summary>Leaf l's targets are <c>LeafTargets[LeafStart[l] .. LeafStart[l + 1])</c>, ascending.</summary>
        public int[] LeafStart { get; }

        /// <summary>All leaves' training targets, leaf by leaf.</summary>
        public int[] LeafTargets { get; }

        /// <summary>Number of leaves.</summary>
        public int LeafCount => LeafStart.Length - 1;

        /// <summary>Size of leaf <paramref name="leaf"/>.</summary>
        public int LeafSize(int leaf) => LeafStart[leaf + 1] - LeafStart[leaf];

        /// <summary>The leaf a dense feature vector falls into.</summary>
        public int LeafOf(float[] dense)
        {
            var nodes = Nodes;
            var node = Root;
            while (node >= 0)
            {
                ref readonly var split = ref nodes[node];
                node = dense[split.Feature] <= split.Threshold ? split.Left : split.Right;
            }

            return ~node;
        }
    }

    /// <summary>Grows one tree; holds the per-tree scratch so that trees can be built in parallel.</summary>
    private sealed class TreeBuilder
    {
        private readonly SparseRows rows;
        private readonly int[] targets;
        private readonly QrfOptions options;
        private readonly Random rng;
        private readonly int[] samples;

        // Per-feature scratch, valid only for the node whose stamp it carries: avoids clearing dimension-sized
        // arrays at every node.
        private readonly int[] presentStamp;
        private readonly int[] chosenRound;
        private readonly int[] count;
        private readonly int[] cursor;
        private readonly List<int> candidates = [];
        private int stamp;
        private int round;

        // Non-zero (value, target) pairs of the chosen features, grouped by feature.
        private readonly float[] pairValue;
        private readonly int[] pairTarget;

        private readonly List<SplitNode> nodes = [];
        private readonly List<(int Lo, int Hi)> leafSegments = [];

        public TreeBuilder(SparseRows rows, int[] targets, int dimension, QrfOptions options, int seed)
        {
            this.rows = rows;
            this.targets = targets;
            this.options = options;
            rng = new Random(seed);
            var n = rows.Count;
            samples = new int[n];
            for (var i = 0; i < n; i++)
            {
                samples[i] = rng.Next(n);
            }

            // Sorted for memory locality; the multiset (the bootstrap) is what matters.
            Array.Sort(samples);
            presentStamp = new int[dimension];
            chosenRound = new int[dimension];
            count = new int[dimension];
            cursor = new int[dimension];
            var nonZeros = 0;
            foreach (var s in samples)
            {
                nonZeros += rows.RowStart[s + 1] - rows.RowStart[s];
            }

            pairValue = new float[nonZeros];
            pairTarget = new int[nonZeros];
        }

        public Tree Build()
        {
            var root = Grow(0, samples.Length, 0);
            var leaves = leafSegments.Count;
            var (rowsOfLeaf, memberCount) = options.LeafTargetsFromAllRows ? RouteAllRows(root, leaves) : BootstrapMembers(leaves);
            var leafStart = new int[leaves + 1];
            var leafTargets = new List<int>(memberCount);
            var start = 0;
            for (var leaf = 0; leaf < leaves; leaf++)
            {
                leafStart[leaf] = leafTargets.Count;
                var end = rowsOfLeaf.Start[leaf + 1];
                AppendLeaf(leafTargets, rowsOfLeaf.Rows.AsSpan(start, end - start));
                start = end;
            }

            leafStart[leaves] = leafTargets.Count;
            return new Tree(root, [.. nodes], leafStart, [.. leafTargets]);
        }

        /// <summary>
        /// Meinshausen's weights: every original training row (not just the bootstrap draw) is dropped down the grown
        /// tree and lands in a leaf, once. The ~37% of rows out of the bag did not shape the splits, which keeps the
        /// leaf distributions from being as tight as the in-bag rows make them and so improves held-out coverage.
        /// </summary>
        private ((int[] Start, int[] Rows) RowsOfLeaf, int Count) RouteAllRows(int root, int leaves)
        {
            var leafOfRow = new int[rows.Count];
            for (var r = 0; r < rows.Count; r++)
            {
                var node = root;
                while (node >= 0)
                {
                    var split = nodes[node];
                    node = rows.Get(r, split.Feature) <= split.Threshold ? split.Left : split.Right;
                }

                leafOfRow[r] = ~node;
            }

            return (GroupByLeaf(leafOfRow, Enumerable.Range(0, rows.Count).ToArray(), leaves), rows.Count);
        }

        private ((int[] Start, int[] Rows) RowsOfLeaf, int Count) BootstrapMembers(int leaves)
        {
            var leafOfSample = new int[samples.Length];
            for (var leaf = 0; leaf < leaves; leaf++)
            {
                var (lo, hi) = leafSegments[leaf];
                leafOfSample.AsSpan(lo, hi - lo).Fill(leaf);
            }

            return (GroupByLeaf(leafOfSample, samples, leaves), samples.Length);
        }

        private static (int[] Start, int[] Rows) GroupByLeaf(int[] leafOf, int[] row, int leaves)
        {
            var start = new int[leaves + 1];
            foreach (var leaf in leafOf)
            {
                start[leaf + 1]++;
            }

            for (var l = 0; l < leaves; l++)
            {
                start[l + 1] += start[l];
            }

            var cursor = start[..^1];
            var grouped = new int[leafOf.Length];
            for (var i = 0; i < leafOf.Length; i++)
            {
                grouped[cursor[leafOf[i]]++] = row[i];
            }

            return (start, grouped);
        }

        private int Grow(int lo, int hi, int depth)
        {
            var n = hi - lo;
            var minLeaf = options.MinSamplesLeaf;
            if (n < 2 * minLeaf || depth >= options.MaxDepth)
            {
                return Leaf(lo, hi);
            }

            var sum = 0.0;
            var first = targets[samples[lo]];
            var allEqual = true;
            for (var i = lo; i < hi; i++)
            {
                var y = targets[samples[i]];
                sum += y;
                allEqual &= y == first;
            }

            if (allEqual)
            {
                return Leaf(lo, hi);
            }

            var (bestFeature, bestThreshold) = FindSplit(lo, hi, sum);
            if (bestFeature < 0)
            {
                return Leaf(lo, hi);
            }

            var mid = Partition(lo, hi, bestFeature, bestThreshold);
            // Reserve the slot first so the tree is stored pre-order (children after parents).
            var node = nodes.Count;
            nodes.Add(default);
            var leftChild = Grow(lo, mid, depth + 1);
            var rightChild = Grow(mid, hi, depth + 1);
            nodes[node] = new SplitNode(bestFeature, bestThreshold, leftChild, rightChild);
            return node;
        }

        private (int Feature, float Threshold) FindSplit(int lo, int hi, double sum)
        {
            var n = hi - lo;

            // Candidates are only the features some sample in this node has: with hashed text most of the
            // dimension is absent, and an absent feature cannot separate anything.
            stamp++;
            candidates.Clear();
            for (var i = lo; i < hi; i++)
            {
                var s = samples[i];
                for (var e = rows.RowStart[s]; e < rows.RowStart[s + 1]; e++)
                {
                    var f = rows.Index[e];
                    if (presentStamp[f] != stamp)
                    {
                        presentStamp[f] = stamp;
                        count[f] = 0;
                        candidates.Add(f);
                    }

                    count[f]++;
                }
            }

            // A feature that fewer than minLeaf samples have cannot split: its non-zero side would be too small.
            // Dropping those first (most hashed bigrams, deep in the tree) saves most of the sorting.
            var minLeaf = options.MinSamplesLeaf;
            candidates.RemoveAll(f => count[f] < minLeaf);
            if (candidates.Count == 0)
            {
                return (-1, 0f);
            }

            // Try a random subset of the candidates; like scikit-learn, if none of them splits (for example a
            // one-hot feature every sample shares), keep drawing further subsets rather than giving up on the node.
            var perRound = Math.Max(1, (int)Math.Ceiling(options.FeatureFraction * candidates.Count));
            var parentScore = sum * sum / n;
            var bestGain = SplitEpsilon * Math.Max(1.0, parentScore);
            var bestFeature = -1;
            var bestThreshold = 0f;
            for (var from = 0; from < candidates.Count && bestFeature < 0; from += perRound)
            {
                var to = Math.Min(candidates.Count, from + perRound);
                round++;
                var position = 0;
                for (var i = from; i < to; i++)
                {
                    var j = rng.Next(i, candidates.Count);
                    (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
                    var f = candidates[i];
                    chosenRound[f] = round;
                    cursor[f] = position;
                    position += count[f];
                }

                for (var i = lo; i < hi; i++)
                {
                    var s = samples[i];
                    for (var e = rows.RowStart[s]; e < rows.RowStart[s + 1]; e++)
                    {
                        var f = rows.Index[e];
                        if (chosenRound[f] == round)
                        {
                            var at = cursor[f]++;
                            pairValue[at] = rows.Value[e];
                            pairTarget[at] = targets[s];
                        }
                    }
                }

                // Variance reduction ⇔ maximising sumL²/nL + sumR²/nR over the parent's sum²/n.
                for (var i = from; i < to; i++)
                {
                    var f = candidates[i];
                    var k = count[f];
                    var (gain, cut) = BestCut(cursor[f] - k, k, n, sum, parentScore);
                    if (gain > bestGain)
                    {
                        bestGain = gain;
                        bestFeature = f;
                        bestThreshold = cut;
                    }
                }
            }

            return (bestFeature, bestThreshold);
        }

        /// <summary>
        /// Best threshold on one feature. The node's n − k samples without the feature sit at value 0, below every
        /// stored (positive) value, so they form the left-most group and never need sorting.
        /// </summary>
        private (double Gain, float Threshold) BestCut(int start, int k, int n, double sum, double parentScore)
        {
            var minLeaf = options.MinSamplesLeaf;
            var nonZeroSum = 0.0;
            for (var i = start; i < start + k; i++)
            {
                nonZeroSum += pairTarget[i];
            }

            Array.Sort(pairValue, pairTarget, start, k);
            var bestGain = double.NegativeInfinity;
            var bestThreshold = 0f;
            var nLeft = n - k;
            var sumLeft = sum - nonZeroSum;
            if (nLeft >= minLeaf && n - nLeft >= minLeaf)
            {
                bestGain = Gain(nLeft, sumLeft);
                bestThreshold = pairValue[start] / 2;
            }

            for (var i = start; i < start + k - 1; i++)
            {
                nLeft++;
                sumLeft += pairTarget[i];
                if (n - nLeft < minLeaf)
                {
                    break;
                }

                if (nLeft < minLeaf || pairValue[i + 1] <= pairValue[i])
                {
                    continue;
                }

                var gain = Gain(nLeft, sumLeft);
                if (gain > bestGain)
                {
                    bestGain = gain;
                    bestThreshold = Midpoint(pairValue[i], pairValue[i + 1]);
                }
            }

            return (bestGain, bestThreshold);

            double Gain(int nl, double sl)
            {
                var sr = sum - sl;
                return (sl * sl / nl) + (sr * sr / (n - nl)) - parentScore;
            }
        }

        private static float Midpoint(float below, float above)
        {
            // Between two adjacent floats the midpoint can round up to `above`, which would send it left.
            var mid = (float)((below + (double)above) / 2);
            return mid < above ? mid : below;
        }

        private int Partition(int lo, int hi, int f, float cut)
        {
            var i = lo;
            var j = hi - 1;
            while (i <= j)
            {
                if (rows.Get(samples[i], f) <= cut)
                {
                    i++;
                }
                else
                {
                    (samples[i], samples[j]) = (samples[j], samples[i]);
                    j--;
                }
            }

            return i;
        }

        private int Leaf(int lo, int hi)
        {
            leafSegments.Add((lo, hi));
            return ~(leafSegments.Count - 1);
        }

        private void AppendLeaf(List<int> leafTargets, ReadOnlySpan<int> members)
        {
            var n = members.Length;
            var at = leafTargets.Count;
            foreach (var row in members)
            {
                leafTargets.Add(targets[row]);
            }

            leafTargets.Sort(at, n, Comparer<int>.Default);
            var keep = options.MaxLeafSamples;
            if (n > keep)
            {
                // Order statistics at the mid-points of keep equal slices: the leaf's distribution to within 1/keep.
                for (var j = 0; j < keep; j++)
                {
                    leafTargets[at + j] = leafTargets[at + (int)(((2L * j) + 1) * n / (2L * keep))];
                }

                leafTargets.RemoveRange(at + keep, n - keep);
            }
        }
    }
}
