using System.Globalization;

using Tempo.Engine;

namespace Tempo.Simulation.Profiles.Calibration;

/// <summary>What a calibration point measures.</summary>
public enum CalibrationPointKind
{
    /// <summary><see cref="CalibrationPoint.Batch"/> sequences at <see cref="CalibrationPoint.Context"/> decode one token each.</summary>
    Decode,

    /// <summary>One chunk of <see cref="CalibrationPoint.Chunk"/> tokens over <see cref="CalibrationPoint.Context"/> cached tokens, sampled after.</summary>
    Prefill,

    /// <summary>A decode batch plus a first prefill chunk of a new sequence (not sampled): the Sarathi step.</summary>
    Mixed,
}

/// <summary>One step shape to measure.</summary>
/// <param name="Kind">Decode, prefill or mixed.</param>
/// <param name="Batch">Decoding sequences (0 for a prefill).</param>
/// <param name="Context">Cached tokens of each decoding sequence, or of the prefilling one for <see cref="CalibrationPointKind.Prefill"/>.</param>
/// <param name="Chunk">Prefill chunk tokens (0 for a decode).</param>
/// <param name="HeldOut">True for points kept out of the fit and used only to report the error on unseen shapes.</param>
public sealed record CalibrationPoint(CalibrationPointKind Kind, int Batch, int Context, int Chunk, bool HeldOut)
{
    /// <summary>Short description, e.g. <c>decode B=8 K=512</c>.</summary>
    public string Label => Kind switch
    {
        CalibrationPointKind.Decode => string.Create(CultureInfo.InvariantCulture, $"decode B={Batch} K={Context}"),
        CalibrationPointKind.Prefill => string.Create(CultureInfo.InvariantCulture, $"prefill c={Chunk} k={Context}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"mixed B={Batch} K={Context} + c={Chunk}"),
    };

    /// <summary>
    /// The step's work at repetition <paramref name="repetition"/> (0-based, warm-up included): decoding sequences
    /// grow by one token per step, so their context is <see cref="Context"/> + repetition.
    /// </summary>
    public WorkShape[] Work(int repetition = 0) => Kind switch
    {
        CalibrationPointKind.Decode => [.. Enumerable.Repeat(WorkShape.Decode(Context + repetition), Batch)],
        CalibrationPointKind.Prefill => [WorkShape.Prefill(Chunk, Context, producesToken: true)],
        _ => [.. Enumerable.Repeat(WorkShape.Decode(Context + repetition), Batch), WorkShape.Prefill(Chunk, 0, producesToken: false)],
    };
}

/// <summary>
/// The measurement grid of <c>tempo calibrate</c>: decode batches over batch size and context, single prefill chunks
/// over chunk size and cached prefix, and held-out mixed steps, sized to an engine's limits. The T_lin knots are the
/// powers of two up to the token budget, plus the budget and the batch cap.
/// </summary>
public sealed record CalibrationGrid(IReadOnlyList<CalibrationPoint> Points, IReadOnlyList<int> Knots)
{
    /// <summary>
    /// A grid for an engine of <paramref name="maxBatch"/> sequences, <paramref name="tokenBudget"/> tokens per step,
    /// <paramref name="maxContext"/> tokens per sequence and <paramref name="kvCells"/> cells in all. Contexts go up by
    /// ×4 from 32 to the longest that <paramref name="maxBatch"/> sequences can hold at once (leaving
    /// <paramref name="growth"/> tokens for the timed steps), chunks by ×2 from 8 to the budget. <paramref name="quick"/>
    /// keeps a coarse subset (for smoke tests).
    /// </summary>
    public static CalibrationGrid For(int maxBatch, int tokenBudget, int maxContext, long kvCells, int growth, bool quick = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(growth);
        var longest = (int)Math.Min(maxContext, kvCells / maxBatch) - growth - 1;
        if (longest < 32)
        {
            throw new ArgumentException($"{maxBatch} sequences in {kvCells} KV cells (at most {maxContext} each) leave under 32 tokens per sequence to calibrate with; use a larger context or a smaller batch");
        }

        var contexts = Geometric(32, longest, 4, quick ? 2 : int.MaxValue);
        var batches = Geometric(1, maxBatch, 2, int.MaxValue);
        var chunks = Geometric(8, tokenBudget, 2, int.MaxValue).Where(c => !quick || c == 8 || c == tokenBudget || c == 64).ToList();
        var points = new List<CalibrationPoint>();
        foreach (var k in contexts)
        {
            points.AddRange(batches.Select(b => new CalibrationPoint(CalibrationPointKind.Decode, b, k, 0, false)));
        }

        var cached = new[] { 0, longest / 2, longest }.Distinct();
        foreach (var k in cached)
        {
            points.AddRange(chunks.Where(c => c + k <= maxContext).Select(c => new CalibrationPoint(CalibrationPointKind.Prefill, 0, k, c, false)));
        }

        // Held out: the mixed steps a Sarathi-style policy runs, none of which the fit sees.
        var mid = contexts[contexts.Count / 2];
        foreach (var b in new[] { Math.Max(1, maxBatch / 2), Math.Max(1, maxBatch - 1) }.Distinct())
        {
            foreach (var c in new[] { Math.Max(1, tokenBudget / 4), tokenBudget - b }.Distinct().Where(c => c > 0))
            {
                if (b + 1 <= maxBatch && (long)(b * (mid + growth)) + c <= kvCells)
                {
                    points.Add(new CalibrationPoint(CalibrationPointKind.Mixed, b, mid, c, true));
                }
            }
        }

        var knots = Geometric(1, tokenBudget, 2, int.MaxValue).Append(maxBatch).Distinct().Order().ToArray();
        return new CalibrationGrid(points, knots);
    }

    // start, start·factor, ... up to and including `last` (appended when the progression skips it), at most `count`
    // values, the last one always kept.
    private static List<int> Geometric(int start, int last, int factor, int count)
    {
        var values = new List<int>();
        for (long v = start; v < last; v *= factor)
        {
            values.Add((int)v);
        }

        values.Add(last);
        if (values.Count > count)
        {
            values = [values[0], .. values.Skip(1).Take(count - 2), values[^1]];
        }

        return values;
    }
}
