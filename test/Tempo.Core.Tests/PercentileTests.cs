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
}
