namespace Tempo.Simulation.Profiles.Calibration;

/// <summary>
/// Small dense least squares with non-negative coefficients, enough for a cost-model fit of a few dozen
/// parameters over a few hundred points.
/// </summary>
internal static class LeastSquares
{
    /// <summary>
    /// Minimises ‖A·x − b‖² subject to x ≥ 0 (rows of <paramref name="a"/> are observations). Columns are scaled to
    /// unit norm first, so coefficients of very different magnitudes (ms per token vs ms per query–key pair) are
    /// solved alike. A coefficient the unconstrained solution makes negative is pinned at zero and the rest refitted,
    /// until none is negative. All-zero columns get zero.
    /// </summary>
    public static double[] SolveNonNegative(double[][] a, double[] b)
    {
        var cols = a.Length == 0 ? 0 : a[0].Length;
        var active = Enumerable.Range(0, cols).Where(j => a.Any(row => row[j] != 0)).ToList();
        while (true)
        {
            var x = Solve(a, b, active);
            var negative = active.Where(j => x[j] < 0).ToList();
            if (negative.Count == 0)
            {
                return x;
            }

            // Pin the most negative one only: pinning several at once can remove a column that becomes positive once
            // its neighbour is gone.
            var worst = negative.MinBy(j => x[j]);
            active.Remove(worst);
        }
    }

    private static double[] Solve(double[][] a, double[] b, List<int> columns)
    {
        var rows = a.Length;
        var k = columns.Count;
        var x = new double[a.Length == 0 ? 0 : a[0].Length];
        if (k == 0)
        {
            return x;
        }

        var scale = new double[k];
        for (var j = 0; j < k; j++)
        {
            var s = 0.0;
            for (var i = 0; i < rows; i++)
            {
                s += a[i][columns[j]] * a[i][columns[j]];
            }

            scale[j] = Math.Sqrt(s);
        }

        // Normal equations on unit-norm columns; the tiny ridge keeps collinear columns (e.g. two knots only
        // decode points reach) solvable without moving well-determined coefficients.
        var m = new double[k, k];
        var v = new double[k];
        for (var i = 0; i < rows; i++)
        {
            for (var p = 0; p < k; p++)
            {
                var ap = a[i][columns[p]] / scale[p];
                v[p] += ap * b[i];
                for (var q = 0; q <= p; q++)
                {
                    m[p, q] += ap * a[i][columns[q]] / scale[q];
                }
            }
        }

        for (var p = 0; p < k; p++)
        {
            m[p, p] += 1e-10;
            for (var q = 0; q < p; q++)
            {
                m[q, p] = m[p, q];
            }
        }

        var y = CholeskySolve(m, v);
        for (var j = 0; j < k; j++)
        {
            x[columns[j]] = y[j] / scale[j];
        }

        return x;
    }

    private static double[] CholeskySolve(double[,] m, double[] v)
    {
        var n = v.Length;
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = m[i, j];
                for (var p = 0; p < j; p++)
                {
                    sum -= l[i, p] * l[j, p];
                }

                if (i == j)
                {
                    l[i, i] = Math.Sqrt(Math.Max(sum, 1e-300));
                }
                else
                {
                    l[i, j] = sum / l[j, j];
                }
            }
        }

        var z = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = v[i];
            for (var p = 0; p < i; p++)
            {
                sum -= l[i, p] * z[p];
            }

            z[i] = sum / l[i, i];
        }

        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = z[i];
            for (var p = i + 1; p < n; p++)
            {
                sum -= l[p, i] * x[p];
            }

            x[i] = sum / l[i, i];
        }

        return x;
    }
}
