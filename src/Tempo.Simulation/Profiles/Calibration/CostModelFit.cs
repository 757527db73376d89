using Tempo.Engine;

namespace Tempo.Simulation.Profiles.Calibration;

/// <summary>How well a profile predicts a set of measured steps.</summary>
/// <param name="Points">Each step: its label, measured and predicted ms, and the signed error in percent of the measurement.</param>
/// <param name="MedianAbsPct">Median absolute error, percent.</param>
/// <param name="P90AbsPct">90th percentile of the absolute error, percent.</param>
/// <param name="MaxAbsPct">Largest absolute error, percent.</param>
public sealed record FitError(IReadOnlyList<FitPoint> Points, double MedianAbsPct, double P90AbsPct, double MaxAbsPct)
{
    /// <summary>Prices every sample with <paramref name="profile"/> and compares with its measurement.</summary>
    public static FitError Of(CostProfile profile, IReadOnlyList<StepSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var model = new CostModel(profile);
        var points = samples
            .Select(s =>
            {
                var predicted = model.ShapeTimeS([.. s.Work], 0) * 1000;
                return new FitPoint(s.Label, s.Ms, predicted, s.Ms > 0 ? 100 * (predicted - s.Ms) / s.Ms : 0);
            })
            .ToArray();
        var abs = points.Select(p => Math.Abs(p.ErrorPct)).Order().ToArray();
        return new FitError(points, Core.Percentile.OfSorted(abs, 0.5), Core.Percentile.OfSorted(abs, 0.9), abs.Length > 0 ? abs[^1] : double.NaN);
    }
}

/// <summary>One step of a fit report.</summary>
/// <param name="Label">What was measured.</param>
/// <param name="MeasuredMs">Median measured duration, ms.</param>
/// <param name="PredictedMs">The profile's prediction, ms.</param>
/// <param name="ErrorPct">(predicted − measured) / measured, percent.</param>
public sealed record FitPoint(string Label, double MeasuredMs, double PredictedMs, double ErrorPct);

/// <summary>
/// Fits the cost-model form of evaluation note C.4 in docs/PROFILES.md to measured steps. The fitted coefficients are per iteration
/// (<c>num_layers</c> = 1): a fixed cost per step, T_lin(N) as a piecewise-linear table over the given knots, decode
/// attention per cached context token, prefill attention per query–key pair (c·k + c²/2), and a cost per sampled
/// token (<see cref="CostProfile.OutputMs"/>). The per-step and per-chunk attention intercepts and the per-chunk
/// token term are left at zero because a single-chunk grid cannot tell them from T_lin; the GQA factor is 1 (it is a
/// GPU kernel heuristic). Every coefficient is non-negative. Errors are minimised relative to each measurement, so
/// a 2 ms step weighs as much as a 200 ms one.
/// </summary>
public static class CostModelFit
{
    /// <summary>
    /// Fits <paramref name="samples"/> and returns <paramref name="template"/> with the fitted coefficients; its other
    /// fields (name, KV capacity, swap cost, text) are kept. <paramref name="knots"/> are the token counts of the
    /// T_lin table, strictly increasing, starting at 1; T_lin(1) is 0 (a one-token step costs the fixed cost).
    /// </summary>
    /// <param name="samples">Measured steps.</param>
    /// <param name="template">Profile whose other fields are kept.</param>
    /// <param name="knots">T_lin knots.</param>
    /// <param name="paddedDecode">Fit decode attention over B × the longest context instead of ΣK (<see cref="CostProfile.DecodeAttnPadded"/>).</param>
    public static CostProfile Fit(IReadOnlyList<StepSample> samples, CostProfile template, IReadOnlyList<int> knots, bool paddedDecode = false)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(knots);
        if (knots.Count < 2 || knots[0] != 1)
        {
            throw new ArgumentException("knots must start at 1 and have at least two points");
        }

        for (var i = 1; i < knots.Count; i++)
        {
            if (knots[i] <= knots[i - 1])
            {
                throw new ArgumentException($"knots must increase strictly, but {knots[i]} follows {knots[i - 1]}");
            }
        }

        var usable = samples.Where(s => s.Ms > 0 && s.Work.Count > 0).ToArray();

        var rows = usable.Select(s => Features(s.Work, knots, paddedDecode)).ToArray();

        // A knot no sample reaches would be fitted to an arbitrary value and bend the interpolation between its
        // neighbours; leave it out, so T_lin runs straight between the knots that are measured.
        var supported = knots.Where((n, j) => j == 0 || rows.Any(r => r[j] != 0)).ToArray();
        if (supported.Length < knots.Count)
        {
            knots = supported.Length >= 2 ? supported : throw new ArgumentException("no sample has more than one token; T_lin cannot be fitted");
            rows = [.. usable.Select(s => Features(s.Work, knots, paddedDecode))];
        }

        var parameters = knots.Count + 3;
        if (usable.Length < parameters)
        {
            throw new ArgumentException($"{usable.Length} usable samples cannot fit {parameters} coefficients");
        }

        // Relative error: divide each row and its target by the measurement.
        var target = new double[usable.Length];
        for (var i = 0; i < usable.Length; i++)
        {
            for (var j = 0; j < rows[i].Length; j++)
            {
                rows[i][j] /= usable[i].Ms;
            }

            target[i] = 1;
        }

        var x = LeastSquares.SolveNonNegative(rows, target);
        var m = knots.Count;
        double[][] linear = [[1, 0], .. Enumerable.Range(1, m - 1).Select(j => new double[] { knots[j], x[j] })];
        return template with
        {
            NumLayers = 1,
            LinearMs = linear,
            DecodeAttnAMs = 0,
            DecodeAttnBMs = x[m],
            DecodeAttnPadded = paddedDecode,
            GqaBatchFactor = 1,
            PrefillAttnAMs = 0,
            PrefillAttnBetaMs = 0,
            PrefillAttnGMs = x[m + 1],
            KvSaveMs = 0,
            FixedMs = x[0],
            OutputMs = x[m + 2],
        };
    }

    /// <summary>
    /// <paramref name="profile"/> with every time coefficient multiplied by the factor that makes its total predicted
    /// time over <paramref name="samples"/> equal their total measured time. A fit that minimises relative error
    /// under multiplicative timing noise predicts low on average (an overestimate of a slow step weighs less than the
    /// same underestimate of a fast one); a simulator that is a few percent fast on every step queues less than the
    /// real engine, so fits to a serving mix of steps are rescaled to keep the busy time right.
    /// </summary>
    public static CostProfile MatchTotalTime(CostProfile profile, IReadOnlyList<StepSample> samples)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(samples);
        var model = new CostModel(profile);
        var predicted = samples.Sum(s => model.ShapeTimeS([.. s.Work], 0) * 1000);
        var measured = samples.Sum(s => s.Ms);
        if (!(predicted > 0) || !(measured > 0))
        {
            return profile;
        }

        var f = measured / predicted;
        return profile with
        {
            LinearMs = [.. profile.LinearMs.Select(p => new[] { p[0], p[1] * f })],
            DecodeAttnAMs = profile.DecodeAttnAMs * f,
            DecodeAttnBMs = profile.DecodeAttnBMs * f,
            PrefillAttnAMs = profile.PrefillAttnAMs * f,
            PrefillAttnBetaMs = profile.PrefillAttnBetaMs * f,
            PrefillAttnGMs = profile.PrefillAttnGMs * f,
            KvSaveMs = profile.KvSaveMs * f,
            FixedMs = profile.FixedMs * f,
            OutputMs = profile.OutputMs * f,
        };
    }

    // Columns: fixed, T_lin at knots 2..m (hat functions; knot 1 is pinned at 0), decode context, prefill pairs, outputs.
    private static double[] Features(IReadOnlyList<WorkShape> work, IReadOnlyList<int> knots, bool paddedDecode)
    {
        var m = knots.Count;
        var row = new double[m + 3];
        var n = 0;
        int decodes = 0, longest = 0;
        foreach (var w in work)
        {
            n += w.Tokens;
            row[m + 2] += w.ProducesToken ? 1 : 0;
            if (w.IsDecode)
            {
                // As the cost model: the new token attends to the cached context and to itself.
                row[m] += w.ContextBefore + w.Tokens;
                decodes++;
                longest = Math.Max(longest, w.ContextBefore + w.Tokens);
            }
            else
            {
                double c = w.Tokens;
                row[m + 1] += (c * w.ContextBefore) + (c * c / 2);
            }
        }

        if (paddedDecode)
        {
            row[m] = (double)decodes * longest;
        }

        row[0] = 1;
        if (n > knots[0])
        {
            // The segment holding n, or the last one (extrapolated with its slope) beyond the last knot.
            var lo = 0;
            while (lo < m - 2 && n >= knots[lo + 1])
            {
                lo++;
            }

            var t = (double)(n - knots[lo]) / (knots[lo + 1] - knots[lo]);
            if (lo > 0)
            {
                row[lo] += 1 - t;
            }

            row[lo + 1] += t;
        }

        return row;
    }
}
