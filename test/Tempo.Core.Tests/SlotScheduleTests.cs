using CsCheck;

namespace Tempo.Core.Tests;

public class SlotScheduleTests
{
    [Fact]
    public void ACandidateThatCannotStartInTime_IsShedAndTakesNoSlot()
    {
        var slots = new SlotSchedule();
        slots.Begin(0);
        slots.AddSlot(0);

        Assert.True(slots.TryPlace(leadS: 1, holdS: 2, dueS: 1.5));   // starts now, holds the slot until 2
        Assert.False(slots.TryPlace(leadS: 1, holdS: 1, dueS: 2.5));  // would start at 2: first token at 3, late
        Assert.True(slots.TryPlace(leadS: 1, holdS: 1, dueS: 3));     // judged on the slot the shed one did not take
        Assert.Equal(1, slots.Shed);
    }

    [Fact]
    public void ASlotHeldByARunner_FreesWhenItsHoldEnds()
    {
        var slots = new SlotSchedule();
        slots.Begin(10);
        slots.AddSlot(14);
        slots.AddSlot(5); // freed in the past: free now

        Assert.True(slots.TryPlace(1, 100, 11));
        Assert.False(slots.TryPlace(1, 1, 14.5));
        Assert.True(slots.TryPlace(1, 1, 15));
    }

    [Fact]
    public void NoSlotAtAll_ShedsEveryCandidate()
    {
        var slots = new SlotSchedule();
        slots.Begin(0);

        Assert.False(slots.TryPlace(0, 0, double.MaxValue));
        Assert.True(slots.Overloaded(queuedAtRisk: 0, lastShedS: double.NegativeInfinity));
    }

    [Fact]
    public void Overload_IsAShed_ARecentShed_OrMoreAtRiskThanSlots()
    {
        var slots = new SlotSchedule();
        slots.Begin(100);
        slots.AddSlot(100);
        slots.AddSlot(100);

        Assert.False(slots.Overloaded(queuedAtRisk: 2, lastShedS: double.NegativeInfinity));
        Assert.True(slots.Overloaded(queuedAtRisk: 3, lastShedS: double.NegativeInfinity));
        Assert.True(slots.Overloaded(queuedAtRisk: 0, lastShedS: 100 - (SlotSchedule.ShedMemoryS / 2)));
        Assert.False(slots.Overloaded(queuedAtRisk: 0, lastShedS: 100 - (SlotSchedule.ShedMemoryS * 2)));
    }

    [Fact]
    public void Backlog_CountsShedAndAtRiskTogetherAgainstTheSlots_OneShedAloneIsNot()
    {
        var slots = new SlotSchedule();
        slots.Begin(100);
        slots.AddSlot(100);
        slots.AddSlot(100);
        Assert.True(slots.TryPlace(1, 50, 200));
        Assert.True(slots.TryPlace(1, 50, 200));
        Assert.False(slots.TryPlace(1, 1, 120)); // both slots busy until 150: shed

        Assert.True(slots.Overloaded(queuedAtRisk: 0, lastShedS: double.NegativeInfinity));
        Assert.False(slots.Backlogged(queuedAtRisk: 1, lastShedS: double.NegativeInfinity));
        Assert.True(slots.Backlogged(queuedAtRisk: 2, lastShedS: double.NegativeInfinity));
        Assert.True(slots.Backlogged(queuedAtRisk: 0, lastShedS: 100 - (SlotSchedule.ShedMemoryS / 2)));
    }

    [Fact]
    public void Order_IsTierFirst_ThenLatestStartUnlessOverloaded_ThenDensity()
    {
        var urgentCheap = SlotSchedule.OrderKey(0, latestStartS: 1, density: 10, overloaded: false);
        var laterDense = SlotSchedule.OrderKey(0, latestStartS: 5, density: 100, overloaded: false);
        var atRiskDense = SlotSchedule.OrderKey(1, latestStartS: 0, density: 1_000, overloaded: false);

        Assert.True(urgentCheap.CompareTo(laterDense) < 0);
        Assert.True(laterDense.CompareTo(atRiskDense) < 0);

        var urgentCheapOver = SlotSchedule.OrderKey(0, 1, 10, overloaded: true);
        var laterDenseOver = SlotSchedule.OrderKey(0, 5, 100, overloaded: true);
        Assert.True(laterDenseOver.CompareTo(urgentCheapOver) < 0);
        Assert.True(urgentCheapOver.CompareTo(SlotSchedule.OrderKey(1, 0, 1_000, overloaded: true)) < 0);
    }

    [Fact]
    public void Property_EveryTakenCandidateMeetsItsDueTime_InTheScheduleItWasTakenInto()
    {
        // Replays the list schedule by hand: k slots, each taken candidate starts on the earliest free one.
        Gen.Select(Gen.Int[1, 6], Gen.Select(Gen.Double[0, 5], Gen.Double[0, 5], Gen.Double[0, 20]).Array[0, 40]).Sample((k, candidates) =>
        {
            var slots = new SlotSchedule();
            slots.Begin(0);
            var free = new List<double>();
            for (var i = 0; i < k; i++)
            {
                slots.AddSlot(0);
                free.Add(0);
            }

            var shed = 0;
            foreach (var (lead, hold, due) in candidates)
            {
                free.Sort();
                var taken = slots.TryPlace(lead, hold, due);
                Assert.Equal(free[0] + lead <= due, taken);
                if (taken)
                {
                    free[0] += hold;
                }
                else
                {
                    shed++;
                }
            }

            Assert.Equal(shed, slots.Shed);
            Assert.Equal(k, slots.Slots);
        });
    }
}
