using CsCheck;

using Tempo.Scheduling.Gain;
using Tempo.Scheduling.Gain.JitServe;

namespace Tempo.Scheduling.Tests.Gain;

public class SlidingWindowTests
{
    [Fact]
    public void BestStart_TwoTimesBatchPool_PicksMaxSumContiguousWindow()
    {
        // k = 2, B = 3: six candidates by length; the densest contiguous three are indices 2..4.
        double[] densities = [5, 1, 9, 8, 7, 1];

        Assert.Equal(2, SlidingWindow.BestStart(densities, 3));
    }

    [Fact]
    public void BestStart_Ties_FirstWindowWins()
    {
        Assert.Equal(0, SlidingWindow.BestStart([1, 1, 1, 1], 2));
    }

    [Fact]
    public void BestStart_AnyValues_MatchesBruteForce()
    {
        Gen.Int[0, 1000].Array[1, 40].Select(Gen.Int[1, 40]).Sample((values, width) =>
        {
            var d = values.Select(v => (double)v).ToArray();
            var start = SlidingWindow.BestStart(d, width);
            if (width >= d.Length)
            {
                return start == 0;
            }

            var sums = Enumerable.Range(0, d.Length - width + 1).Select(s => d.Skip(s).Take(width).Sum()).ToList();
            return start == sums.IndexOf(sums.Max());
        });
    }
}

public class CpuSwapHysteresisTests
{
    [Fact]
    public void Update_FreeFractionFalls_UnhealthyBelowLowThenHealthyOnlyAboveHigh()
    {
        var gate = new CpuSwapHysteresis(0.2, 0.8);

        Assert.True(gate.Update(0.5, true));
        Assert.True(gate.Update(0.2, true));
        Assert.False(gate.Update(0.19, true));
        Assert.False(gate.Update(0.5, true));
        Assert.False(gate.Update(0.8, true));
        Assert.True(gate.Update(0.81, true));
        Assert.True(gate.Update(0.3, true));
    }

    [Fact]
    public void Update_NoSwapSpace_StaysHealthy()
    {
        var gate = new CpuSwapHysteresis(0.2, 0.8);

        Assert.True(gate.Update(0, hasSwapSpace: false));
    }
}

public class DullAbortCounterTests
{
    [Fact]
    public void Observe_TwoThousandIdleCalls_FiresOnceAndRestarts()
    {
        var dull = new DullAbortCounter(100, 2000);

        for (var i = 0; i < 1999; i++)
        {
            Assert.False(dull.Observe(running: 0, pending: 5, lastScheduled: 0));
        }

        Assert.True(dull.Observe(0, 5, 0));
        Assert.Equal(0, dull.IdleSteps);
    }

    [Fact]
    public void Observe_ConditionLapses_CountRestarts()
    {
        // Q18: only consecutive idle calls count.
        var dull = new DullAbortCounter(100, 2000);
        for (var i = 0; i < 1500; i++)
        {
            dull.Observe(0, 5, 0);
        }

        dull.Observe(running: 1, pending: 5, lastScheduled: 1);
        for (var i = 0; i < 1999; i++)
        {
            Assert.False(dull.Observe(0, 5, 0));
        }

        Assert.True(dull.Observe(0, 5, 0));
    }

    [Fact]
    public void Observe_PreviousStepScheduledWork_IsNotIdle()
    {
        // One-token requests: nothing is running at any call, yet every step finishes a request.
        var dull = new DullAbortCounter(100, 3);

        for (var i = 0; i < 10; i++)
        {
            Assert.False(dull.Observe(running: 0, pending: 5, lastScheduled: 1));
        }

        Assert.Equal(0, dull.IdleSteps);
        Assert.False(dull.Observe(0, 5, 0));
        Assert.False(dull.Observe(0, 5, 0));
        Assert.True(dull.Observe(0, 5, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void Observe_NothingOrTooMuchPending_NeverCounts(int pending)
    {
        var dull = new DullAbortCounter(100, 2);

        Assert.False(dull.Observe(0, pending, 0));
        Assert.False(dull.Observe(0, pending, 0));
        Assert.Equal(0, dull.IdleSteps);
    }
}

public class UnitTimeEstimatorTests
{
    [Fact]
    public void Observe_NoSteps_UsesInitialThenFirstSampleThenEwma()
    {
        var u = new UnitTimeEstimator(0.02, 0.1);
        Assert.Equal(0.02, u.CurrentS);

        u.Observe(0.05);
        Assert.Equal(0.05, u.CurrentS, 12);

        u.Observe(0.15);
        Assert.Equal(0.06, u.CurrentS, 12);

        u.Observe(0);
        Assert.Equal(2, u.Samples);
    }
}
