using System.Text;

namespace Tempo.Reports;

/// <summary>Reading and quoting the CSV files Tempo writes (RFC 4180: separators, doubled quotes and line breaks inside quotes).</summary>
public static class CsvText
{
    /// <summary>A text field, quoted (RFC 4180) when it holds a separator, a quote or a line break.</summary>
    public static string Field(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.AsSpan().IndexOfAny(",\"\r\n") < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>
    /// The lines of <paramref name="text"/>, each split into fields. A trailing carriage return is dropped from the
    /// last field of a line; a last line without a line break is kept.
    /// </summary>
    public static List<List<string>> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
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
                fields.Add(field.ToString().TrimEnd('\r'));
                field.Clear();
                lines.Add(fields);
                fields = [];
            }
            else
            {
                field.Append(c);
            }
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            lines.Add(fields);
        }

        return lines;
    }
}
