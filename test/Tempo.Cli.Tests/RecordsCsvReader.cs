using System.Text;

namespace Tempo.Cli.Tests;

/// <summary>Reads a records CSV back into rows keyed by column name (RFC 4180 quoting, as the writer uses).</summary>
internal static class RecordsCsvReader
{
    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyDictionary<string, string>> Rows) Read(string path)
    {
        var lines = Split(File.ReadAllText(path));
        var header = lines[0];
        var rows = lines.Skip(1).Select(fields =>
        {
            Assert.Equal(header.Count, fields.Count);
            return (IReadOnlyDictionary<string, string>)header.Zip(fields).ToDictionary(x => x.First, x => x.Second);
        }).ToList();
        return (header, rows);
    }

    private static List<List<string>> Split(string text)
    {
        var lines = new List<List<string>>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
            {
                fields.Add(field.ToString());
                field.Clear();
                lines.Add(fields);
                fields = [];
            }
            else
            {
                field.Append(c);
            }
        }

        Assert.Empty(fields);
        return lines;
    }
}
