using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Prediction;

public sealed class QuantilePosteriorTests
{
    // Lengths 1..100, each with weight 0.01.
    private static QuantilePosterior Uniform(double q, int? cap = null, double growth = 1.25) =>
        new([.. Enumerable.Range(1, 100)], [.. Enumerable.Range(1, 100).Select(i => i / 100.0)], q, cap, growth);

    [Fact]
    public void BoundAfter_Zero_IsPlainQuantile()
    {
        Assert.Equal(90, Uniform(0.9).BoundAfter(0));
        Assert.Equal(95, Uniform(0.95).BoundAfter(0));
        Assert.Equal(100, Uniform(1.0).BoundAfter(0));
    }

    [Fact]
    public void BoundAfter_HalfGenerated_ConditionsOnLengthAboveGenerated()
    {
        // F(50) = 0.5, so the 0.9 quantile of the rest is the y with F(y) ≥ 0.5 + 0.9·0.5 = 0.95.
        Assert.Equal(95, Uniform(0.9).BoundAfter(50));
    }

    [Fact]
    public void BoundAfter_JustBelowLargest_IsLargest()
    {
        Assert.Equal(100, Uniform(0.5).BoundAfter(99));
    }

    [Fact]
    public void BoundAfter_OutlivedEveryNeighbour_GrowsByGamma()
    {
        var posterior = Uniform(0.95);

        Assert.Equal(125, posterior.BoundAfter(100));
        Assert.Equal(250, posterior.BoundAfter(200));
        Assert.Equal(2, new QuantilePosterior([1], [1.0], 0.95, null, 1.25).BoundAfter(1));
    }

    [Fact]
    public void BoundAfter_Cap_AppliesOnlyWhileAboveGenerated()
    {
        var posterior = Uniform(0.95, cap: 60);

        Assert.Equal(60, posterior.BoundAfter(0));
        Assert.Equal(60, posterior.BoundAfter(59));
        // Past the cap the conditional quantile applies uncapped: F(60) = 0.6, so F(y) ≥ 0.6 + 0.95·0.4 = 0.98.
        Assert.Equal(98, posterior.BoundAfter(60));
    }

    [Fact]
    public void BoundAfter_NegativeGenerated_TreatedAsZero()
    {
        Assert.Equal(Uniform(0.9).BoundAfter(0), Uniform(0.9).BoundAfter(-5));
    }

    [Fact]
    public void BoundAfter_HugeGenerated_SaturatesWithoutOverflow()
    {
        Assert.Equal(int.MaxValue, Uniform(0.9).BoundAfter(int.MaxValue - 10));
    }

    [Fact]
    public void BoundAfter_EveryGenerated_AboveAndNonDecreasing()
    {
        var skewed = new QuantilePosterior([3, 7, 8, 40, 41, 300], [0.3, 0.5, 0.55, 0.9, 0.95, 1.0], 0.8, null, 1.5);
        var previous = 0;
        for (var g = 0; g < 1000; g++)
        {
            var bound = skewed.BoundAfter(g);
            Assert.True(bound > g && bound >= previous, $"g={g}: bound {bound}, previous {previous}");
            previous = bound;
        }
    }
}
