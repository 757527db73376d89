using System.Numerics;

namespace Tempo.Simulation.Bounds;

/// <summary>
/// One resource that does one second of work per second, shared by pieces of work that each have a release time and a
/// deadline, with preemption and no other limit. A set of amounts fits if and only if, for every interval [s, e], the
/// work released at or after s and due by e is at most e − s (Horn's condition for one preemptive machine). This
/// keeps the room left in every such interval whose ends are a release and a deadline of the pieces it was built
/// for, and places amounts in turn.
/// </summary>
/// <remarks>
/// The feasible amounts form a polymatroid (the supplies a bipartite flow network can carry from pieces to time),
/// so filling pieces greedily, densest first, each as far as it fits, maximises any weighted sum of amounts
/// exactly. The table has one cell per (release, deadline) pair, so placing costs time proportional to the cells
/// that enclose the piece's window; that is fast enough for a few thousand pieces.
/// </remarks>
public sealed class DeadlineCapacity
{
    /// <summary>Most table cells allowed (8 bytes each).</summary>
    public const long MaxCells = 60_000_000;

    private readonly double[] _releases;
    private readonly double[] _deadlines;
    private readonly double[] _room;

    /// <summary>Builds the table for pieces with these release times and deadlines (seconds; repeats are fine).</summary>
    /// <exception cref="ArgumentException">No piece, or more distinct times than <see cref="MaxCells"/> allows.</exception>
    public DeadlineCapacity(IEnumerable<double> releases, IEnumerable<double> deadlines)
    {
        ArgumentNullException.ThrowIfNull(releases);
        ArgumentNullException.ThrowIfNull(deadlines);
        _releases = [.. releases.Distinct().Order()];
        _deadlines = [.. deadlines.Distinct().Order()];
        if (_releases.Length == 0 || _deadlines.Length == 0)
        {
            throw new ArgumentException("the capacity needs at least one piece of work");
        }

        if ((long)_releases.Length * _deadlines.Length > MaxCells)
        {
            throw new ArgumentException($"{_releases.Length} release times by {_deadlines.Length} deadlines is too many intervals to bound; use fewer requests");
        }

        _room = new double[_releases.Length * _deadlines.Length];
        for (var a = 0; a < _releases.Length; a++)
        {
            var row = _room.AsSpan(a * _deadlines.Length, _deadlines.Length);
            for (var b = 0; b < row.Length; b++)
            {
                // Cells with the deadline before the release are never read: a piece's enclosing intervals start at
                // or before its release and end at or after its deadline.
                row[b] = _deadlines[b] - _releases[a];
            }
        }
    }

    /// <summary>
    /// Places as much as fits, up to <paramref name="amount"/> seconds of work, of a piece released at
    /// <paramref name="releaseS"/> and due by <paramref name="deadlineS"/>; returns the amount placed.
    /// </summary>
    /// <exception cref="ArgumentException">A time the table was not built for, or a window that is empty.</exception>
    public double Place(double releaseS, double deadlineS, double amount)
    {
        var a = Array.BinarySearch(_releases, releaseS);
        var b = Array.BinarySearch(_deadlines, deadlineS);
        if (a < 0 || b < 0 || deadlineS <= releaseS)
        {
            throw new ArgumentException($"no piece was declared with window [{releaseS}, {deadlineS}]");
        }

        if (amount <= 0)
        {
            return 0;
        }

        var width = _deadlines.Length;
        var fit = amount;
        for (var row = 0; row <= a && fit > 0; row++)
        {
            fit = Math.Min(fit, Min(_room.AsSpan((row * width) + b, width - b)));
        }

        if (fit <= 0)
        {
            return 0;
        }

        for (var row = 0; row <= a; row++)
        {
            Subtract(_room.AsSpan((row * width) + b, width - b), fit);
        }

        return fit;
    }

    private static double Min(ReadOnlySpan<double> span)
    {
        var min = double.PositiveInfinity;
        var i = 0;
        if (Vector.IsHardwareAccelerated && span.Length >= Vector<double>.Count)
        {
            var acc = new Vector<double>(double.PositiveInfinity);
            for (; i <= span.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                acc = Vector.Min(acc, new Vector<double>(span[i..]));
            }

            for (var k = 0; k < Vector<double>.Count; k++)
            {
                min = Math.Min(min, acc[k]);
            }
        }

        for (; i < span.Length; i++)
        {
            min = Math.Min(min, span[i]);
        }

        return min;
    }

    private static void Subtract(Span<double> span, double amount)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && span.Length >= Vector<double>.Count)
        {
            var v = new Vector<double>(amount);
            for (; i <= span.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                (new Vector<double>(span[i..]) - v).CopyTo(span[i..]);
            }
        }

        for (; i < span.Length; i++)
        {
            span[i] -= amount;
        }
    }
}
