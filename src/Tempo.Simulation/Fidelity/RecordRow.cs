using System.Globalization;

namespace Tempo.Simulation.Fidelity;

/// <summary>The columns of one request row of a records CSV (<see cref="Reports.RecordsCsv"/>) that a comparison needs.</summary>
/// <param name="Policy">Policy (or bench label) of the run.</param>
/// <param name="Id">Workload request id.</param>
/// <param name="Class">Request class name.</param>
/// <param name="TtftS">Time to first token, seconds; null when no token came.</param>
/// <param name="E2eS">Arrival to end, seconds.</param>
/// <param name="Finish">Finish reason name.</param>
/// <param name="SloMet">Whether the request met its SLO.</param>
public sealed record RecordRow(string Policy, long Id, string Class, double? TtftS, double E2eS, string Finish, bool SloMet)
{
    /// <summary>
    /// Reads a records CSV written by <c>--records</c>. Throws <see cref="FormatException"/> naming the line when a
    /// row is malformed or a needed column is missing.
    /// </summary>
    public static IReadOnlyList<RecordRow> Read(string path)
    {
        var lines = Reports.CsvText.Split(File.ReadAllText(path));
        if (lines.Count == 0)
        {
            throw new FormatException($"{path}: empty, expected a records CSV header");
        }

        var header = lines[0];
        int Column(string name) => header.IndexOf(name) is var i and >= 0 ? i : throw new FormatException($"{path}: no '{name}' column; is it a records CSV (--records)?");
        int policy = Column("policy"), id = Column("id"), cls = Column("class"), ttft = Column("ttft_s"), e2e = Column("e2e_s"), finish = Column("finish"), met = Column("slo_met");
        var rows = new List<RecordRow>(lines.Count - 1);
        for (var n = 1; n < lines.Count; n++)
        {
            var f = lines[n];
            if (f.Count != header.Count)
            {
                throw new FormatException($"{path} line {n + 1}: {f.Count} fields, the header has {header.Count}");
            }

            try
            {
                rows.Add(new RecordRow(
                    f[policy],
                    long.Parse(f[id], CultureInfo.InvariantCulture),
                    f[cls],
                    f[ttft].Length == 0 ? null : double.Parse(f[ttft], CultureInfo.InvariantCulture),
                    double.Parse(f[e2e], CultureInfo.InvariantCulture),
                    f[finish],
                    f[met] == "1"));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{path} line {n + 1}: {e.Message}", e);
            }
        }

        return rows;
    }
}
