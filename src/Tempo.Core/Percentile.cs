namespace Tempo.Core;

/// <summary>
/// Percentiles by linear interpolation between order statistics (Hyndman–Fan type 7, the default of
/// numpy and of the artifact's metric scripts): p of values sorted x[0..n-1] is x at rank p·(n−1).
/// </summary>
public static class Percentile
{
    /// <summary>Returns the <paramref name="p"/>-quantile (0..1) of <paramref name="sorted"/>, which must be sorted ascending; NaN when empty.</summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double p)
    {
        if (p is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "quantile must be within [0, 1]");
        }

        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = p * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((rank - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>Summarises a sample as mean, p50, p90, p95 and p99.</summary>
    public static LatencySummary Summarise(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        Sort(sorted);
        return SummariseSorted(sorted);
    }

    /// <summary>Summarises a sample already sorted ascending (the mean is summed in that order).</summary>
    internal static LatencySummary SummariseSorted(double[] sorted) =>
        sorted.Length == 0
            ? LatencySummary.Empty
            : new LatencySummary(sorted.Length, sorted.Average(), OfSorted(sorted, 0.50), OfSorted(sorted, 0.90), OfSorted(sorted, 0.95), OfSorted(sorted, 0.99));

    /// <summary>
    /// Sorts ascending with exactly the result of <see cref="Array.Sort{T}(T[])"/>. Samples of non-negative numbers
    /// (every latency) take an LSD radix sort on their bit patterns, several times faster on the million-gap TBT
    /// samples of a long run; for them equal values have equal bits, so the order is the same.
    /// </summary>
    internal static void Sort(double[] values)
    {
        const int radixThreshold = 2_048;
        if (values.Length < radixThreshold || !AllNonNegative(values))
        {
            Array.Sort(values);
            return;
        }

        RadixSort(values);
    }

    /// <summary>Merges sorted samples into one sorted array: the sorted concatenation, for non-negative samples.</summary>
    /// <remarks>Samples with a NaN or a negative value (where <see cref="Array.Sort{T}(T[])"/> could order -0 and +0 differently) are concatenated and sorted instead.</remarks>
    internal static double[] MergeSorted(IReadOnlyList<double[]> sorted)
    {
        var total = 0;
        var plain = true;
        foreach (var part in sorted)
        {
            total += part.Length;
            plain &= AllNonNegative(part);
        }

        var result = new double[total];
        if (!plain)
        {
            var at = 0;
            foreach (var part in sorted)
            {
                part.CopyTo(result, at);
                at += part.Length;
            }

            Array.Sort(result);
            return result;
        }

        // Pairwise merges into two buffers: few samples (one per request class), each merge linear.
        var acc = Array.Empty<double>();
        foreach (var part in sorted)
        {
            if (part.Length == 0)
            {
                continue;
            }

            var merged = acc.Length + part.Length == total ? result : new double[acc.Length + part.Length];
            Merge(acc, part, merged);
            acc = merged;
        }

        return result;
    }

    private static void Merge(double[] a, double[] b, double[] into)
    {
        int i = 0, j = 0, k = 0;
        while (i < a.Length && j < b.Length)
        {
            into[k++] = b[j] < a[i] ? b[j++] : a[i++];
        }

        a.AsSpan(i).CopyTo(into.AsSpan(k));
        b.AsSpan(j).CopyTo(into.AsSpan(k + a.Length - i));
    }

    private static bool AllNonNegative(double[] values)
    {
        // The sign bit is clear for +0 and positive numbers only (-0 and negatives have it); NaN is excluded apart.
        foreach (var v in values)
        {
            if (double.IsNegative(v) || double.IsNaN(v))
            {
                return false;
            }
        }

        return true;
    }

    private static void RadixSort(double[] values)
    {
        // Non-negative doubles order like their bit patterns as unsigned integers. Eight 8-bit digits, low first;
        // a digit every value shares (high exponent bits of similar latencies) is skipped.
        const int digits = 8;
        var n = values.Length;
        var counts = new int[digits * 256];
        foreach (var v in values)
        {
            var bits = BitConverter.DoubleToUInt64Bits(v);
            for (var d = 0; d < digits; d++)
            {
                counts[(d * 256) + (int)((bits >> (d * 8)) & 0xFF)]++;
            }
        }

        var src = new ulong[n];
        var dst = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            src[i] = BitConverter.DoubleToUInt64Bits(values[i]);
        }

        var offsets = new int[256];
        for (var d = 0; d < digits; d++)
        {
            var histogram = counts.AsSpan(d * 256, 256);
            if (histogram.Contains(n))
            {
                continue;
            }

            var sum = 0;
            for (var b = 0; b < 256; b++)
            {
                offsets[b] = sum;
                sum += histogram[b];
            }

            var shift = d * 8;
            foreach (var bits in src)
            {
                dst[offsets[(int)((bits >> shift) & 0xFF)]++] = bits;
            }

            (src, dst) = (dst, src);
        }

        for (var i = 0; i < n; i++)
        {
            values[i] = BitConverter.UInt64BitsToDouble(src[i]);
        }
    }
}

/// <summary>Distribution summary of a latency sample, in seconds.</summary>
/// <param name="Count">Sample size.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
public sealed record LatencySummary(int Count, double Mean, double P50, double P90, double P95, double P99)
{
    /// <summary>The summary of an empty sample (all NaN).</summary>
    public static LatencySummary Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
}
