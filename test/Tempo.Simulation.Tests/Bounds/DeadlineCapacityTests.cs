using CsCheck;

using Tempo.Simulation.Bounds;

namespace Tempo.Simulation.Tests.Bounds;

public class DeadlineCapacityTests
{
    [Fact]
    public void Place_TwoPiecesInOneSecond_TheSecondGetsWhatIsLeft()
    {
        var capacity = new DeadlineCapacity([0, 0], [1, 1]);

        Assert.Equal(0.6, capacity.Place(0, 1, 0.6), 12);
        Assert.Equal(0.4, capacity.Place(0, 1, 0.6), 12);
        Assert.Equal(0, capacity.Place(0, 1, 0.1));
    }

    [Fact]
    public void Place_ANarrowPieceInsideAWideOne_IsLimitedByBothTheNarrowAndTheWideInterval()
    {
        var capacity = new DeadlineCapacity([0, 0.5], [2, 1]);

        Assert.Equal(1.5, capacity.Place(0, 2, 1.5), 12);
        // [0.5, 1] alone has room for 0.5, and [0, 2] has 0.5 left after the wide piece.
        Assert.Equal(0.5, capacity.Place(0.5, 1, 1), 12);
    }

    [Fact]
    public void Place_DisjointWindows_DoNotShareRoom()
    {
        var capacity = new DeadlineCapacity([0, 1], [1, 2]);

        Assert.Equal(1, capacity.Place(0, 1, 5), 12);
        Assert.Equal(1, capacity.Place(1, 2, 5), 12);
    }

    [Fact]
    public void Place_AWindowTheTableWasNotBuiltFor_Throws()
    {
        var capacity = new DeadlineCapacity([0], [1]);

        Assert.Throws<ArgumentException>(() => capacity.Place(0.5, 1, 1));
        Assert.Throws<ArgumentException>(() => capacity.Place(0, 0, 1));
    }

    [Fact]
    public void New_TooManyIntervals_ClearErrorBeforeAllocating()
    {
        var times = Enumerable.Range(0, 10_000).Select(i => (double)i).ToList();

        var e = Assert.Throws<ArgumentException>(() => new DeadlineCapacity(times, times.Select(t => t + 0.5)));

        Assert.Contains("use fewer requests", e.Message);
    }

    [Fact]
    public void Place_RandomPieces_WhatIsPlacedMeetsEveryDeadlineAndNoShortPieceCouldTakeMore()
    {
        var pieces = Gen.Select(Gen.Int[0, 20], Gen.Int[1, 10], Gen.Double[0.1, 4]).Array[1, 12];
        pieces.Sample(raw =>
        {
            var list = raw.Select(p => (Release: (double)p.Item1, Deadline: (double)(p.Item1 + p.Item2), Amount: p.Item3)).ToList();
            var capacity = new DeadlineCapacity(list.Select(p => p.Release), list.Select(p => p.Deadline));
            var placed = list.Select(p => capacity.Place(p.Release, p.Deadline, p.Amount)).ToArray();

            Assert.True(EdfMeetsAll(list.Select((p, i) => (p.Release, p.Deadline, placed[i])).ToList()), "the placed amounts must be schedulable");
            for (var i = 0; i < list.Count; i++)
            {
                Assert.InRange(placed[i], 0, list[i].Amount + 1e-12);
                if (placed[i] < list[i].Amount - 1e-6)
                {
                    var more = list.Select((p, k) => (p.Release, p.Deadline, k == i ? placed[k] + 1e-4 : placed[k])).ToList();
                    Assert.False(EdfMeetsAll(more), $"piece {i} got {placed[i]} of {list[i].Amount} but more would have fit");
                }
            }
        }, iter: 300);
    }

    // Preemptive earliest-deadline-first on one machine of rate 1: optimal for meeting deadlines, so it is the
    // reference for whether a set of amounts fits.
    private static bool EdfMeetsAll(List<(double Release, double Deadline, double Amount)> pieces)
    {
        var left = pieces.Select(p => p.Amount).ToArray();
        var now = 0.0;
        while (true)
        {
            var ready = Enumerable.Range(0, pieces.Count).Where(i => left[i] > 1e-12 && pieces[i].Release <= now + 1e-12).ToList();
            var future = Enumerable.Range(0, pieces.Count).Where(i => left[i] > 1e-12 && pieces[i].Release > now + 1e-12).Select(i => pieces[i].Release).DefaultIfEmpty(double.PositiveInfinity).Min();
            if (ready.Count == 0)
            {
                if (double.IsPositiveInfinity(future))
                {
                    return true;
                }

                now = future;
                continue;
            }

            var run = ready.MinBy(i => pieces[i].Deadline);
            var step = Math.Min(left[run], future - now);
            now += step;
            left[run] -= step;
            if (left[run] <= 1e-12 && now > pieces[run].Deadline + 1e-9)
            {
                return false;
            }
        }
    }
}
