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
        Array.Sort(sorted);
        return sorted.Length == 0
            ? LatencySummary.Empty
            : new LatencySummary(sorted.Length, sorted.Average(), OfSorted(sorted, 0.50), OfSorted(sorted, 0.90), OfSorted(sorted, 0.95), OfSorted(sorted, 0.99));
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
