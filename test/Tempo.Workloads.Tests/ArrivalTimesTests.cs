namespace Tempo.Workloads.Tests;

public class ArrivalTimesTests
{
    [Fact]
    public void Generate_Reference_GapsArePoissonMilliseconds()
    {
        var times = ArrivalTimes.Generate(ArrivalProcess.Reference, 5000, 6.0, 1, new Sampler(42, WorkloadStream.MainArrivals));
        var gapsMs = Gaps(times).Select(g => g * 1000).ToList();

        // λ = ⌊1000/6⌋ = 166 ms, variance = mean: σ ≈ 12.9 ms.
        Assert.Equal(0.0, times[0]);
        Assert.All(gapsMs, g => Assert.Equal(Math.Round(g), g, 6));
        Assert.InRange(gapsMs.Average(), 165.5, 166.5);
        Assert.InRange(StdDev(gapsMs), 12.0, 13.8);
    }

    [Fact]
    public void Generate_ReferenceLowRate_UsesLargeLambdaSampler()
    {
        var times = ArrivalTimes.Generate(ArrivalProcess.Reference, 3000, 0.2, 1, new Sampler(1, WorkloadStream.DeepResearchArrivals));
        var gapsMs = Gaps(times).Select(g => g * 1000).ToList();

        Assert.InRange(gapsMs.Average(), 4995, 5005);
        Assert.InRange(StdDev(gapsMs), Math.Sqrt(5000) * 0.93, Math.Sqrt(5000) * 1.07);
    }

    [Fact]
    public void Generate_Poisson_ExponentialGapsWithCvOne()
    {
        var gaps = Gaps(ArrivalTimes.Generate(ArrivalProcess.Poisson, 20000, 4.0, 1, new Sampler(7, WorkloadStream.MainArrivals)));

        Assert.InRange(gaps.Average(), 0.24, 0.26);
        Assert.InRange(StdDev(gaps) / gaps.Average(), 0.96, 1.04);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2.0)]
    [InlineData(4.0)]
    public void Generate_Gamma_HasRequestedMeanAndCv(double cv)
    {
        var gaps = Gaps(ArrivalTimes.Generate(ArrivalProcess.Gamma, 50000, 5.0, cv, new Sampler(3, WorkloadStream.MainArrivals)));

        Assert.InRange(gaps.Average(), 0.2 * 0.95, 0.2 * 1.05);
        Assert.InRange(StdDev(gaps) / gaps.Average(), cv * 0.9, cv * 1.1);
    }

    [Fact]
    public void RescaleFactor_MapsObservedRateToRequested()
    {
        double[] times = [0, 1, 2, 3, 4]; // 1 arrival/s

        Assert.Equal(0.5, ArrivalTimes.RescaleFactor(times, 2.0), 12);
        Assert.Equal(1.0, ArrivalTimes.RescaleFactor(times, null));
        Assert.Equal(1.0, ArrivalTimes.RescaleFactor([5.0], 3.0));
    }

    [Fact]
    public void LogGamma_MatchesFactorials()
    {
        Assert.Equal(Math.Log(24), Sampler.LogGamma(5), 10);
        Assert.Equal(Math.Log(3628800), Sampler.LogGamma(11), 10);
        Assert.Equal(0.5 * Math.Log(Math.PI), Sampler.LogGamma(0.5), 10);
    }

    internal static List<double> Gaps(IReadOnlyList<double> times) => [.. times.Zip(times.Skip(1), (a, b) => b - a)];

    internal static double StdDev(IReadOnlyList<double> xs)
    {
        var mean = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1));
    }
}
