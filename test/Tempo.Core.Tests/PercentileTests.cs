namespace Tempo.Core.Tests;

public class PercentileTests
{
    private static readonly double[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [Theory]
    [InlineData(0.99, 9.91)]
    [InlineData(0.95, 9.55)]
    [InlineData(0.90, 9.1)]
    [InlineData(0.50, 5.5)]
    [InlineData(0.25, 3.25)]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 10)]
    public void OfSorted_OneToTen_MatchesType7(double p, double expected)
    {
        Assert.Equal(expected, Percentile.OfSorted(OneToTen, p), 10);
    }

    [Fact]
    public void OfSorted_EmptyOrSingle_NaNOrTheValue()
    {
        Assert.True(double.IsNaN(Percentile.OfSorted([], 0.5)));
        Assert.Equal(7, Percentile.OfSorted([7.0], 0.99));
    }

    [Fact]
    public void OfSorted_QuantileOutsideUnitInterval_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.OfSorted(OneToTen, 1.5));
    }

    [Fact]
    public void Summarise_UnsortedInput_SortsAndSummarises()
    {
        var s = Percentile.Summarise(OneToTen.Reverse());

        Assert.Equal(10, s.Count);
        Assert.Equal(5.5, s.Mean, 12);
        Assert.Equal(5.5, s.P50, 12);
        Assert.Equal(9.1, s.P90, 12);
        Assert.Equal(9.91, s.P99, 12);
        Assert.Same(LatencySummary.Empty, Percentile.Summarise([]));
    }
    [Theory]
    [InlineData(10, false)]
    [InlineData(50_000, false)]
    [InlineData(50_000, true)]
    public void Sort_AnySample_EqualsArraySortBitForBit(int n, bool withNegatives)
    {
        // Latency-like values (many exact repeats, some zeros) take the radix path; negatives and -0 the fallback.
        var rng = new Random(n);
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = i % 7 == 0 ? 0.02 : i % 11 == 0 ? 0 : rng.NextDouble() * (i % 3 == 0 ? 30 : 0.05);
            if (withNegatives && i % 5 == 0)
            {
                values[i] = i % 10 == 0 ? -0.0 : -values[i];
            }
        }

        var expected = (double[])values.Clone();
        Array.Sort(expected);
        Percentile.Sort(values);

        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), values.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void MergeSorted_SortedParts_EqualsSortedConcatenation()
    {
        var rng = new Random(3);
        double[][] parts = [[.. Enumerable.Range(0, 5_000).Select(_ => rng.NextDouble())], [], [.. Enumerable.Range(0, 3_000).Select(_ => Math.Round(rng.NextDouble(), 2))]];
        foreach (var part in parts)
        {
            Array.Sort(part);
        }

        var expected = parts.SelectMany(p => p).ToArray();
        Array.Sort(expected);

        Assert.Equal(expected, Percentile.MergeSorted(parts));
    }
}
