using System.Text;

namespace Tempo.Llama;

/// <summary>
/// Turns a request's sampled tokens into text pieces: whole UTF-8 characters only, and stop strings cut out.
/// Text that could still be the start of a stop string is held back until it cannot be (vLLM does the same),
/// so a response never shows part of a stop string.
/// </summary>
internal sealed class ResponseText
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly IReadOnlyList<string> _stops;
    private readonly StringBuilder _held = new();
    private char[] _chars = new char[16];

    public ResponseText(IReadOnlyList<string>? stops) =>
        _stops = stops is null ? [] : [.. stops.Where(s => !string.IsNullOrEmpty(s))];

    /// <summary>Adds a token's bytes; returns the text that can be shown now and whether a stop string was completed.</summary>
    public (string Text, bool Stopped) Add(ReadOnlySpan<byte> piece, bool final)
    {
        var needed = _utf8.GetCharCount(piece, flush: final);
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, 2 * _chars.Length)];
        }

        var count = _utf8.GetChars(piece, _chars, flush: final);
        _held.Append(_chars, 0, count);
        if (_stops.Count == 0)
        {
            return (Take(_held.Length), false);
        }

        var held = _held.ToString();
        var at = -1;
        foreach (var stop in _stops)
        {
            var i = held.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at))
            {
                at = i;
            }
        }

        if (at >= 0)
        {
            var text = held[..at];
            _held.Clear();
            return (text, true);
        }

        return (Take(final ? held.Length : held.Length - LongestStopPrefixSuffix(held)), false);
    }

    /// <summary>All text not shown yet (when the response ends for another reason).</summary>
    public string Flush() => Take(_held.Length);

    private string Take(int length)
    {
        var text = _held.ToString(0, length);
        _held.Remove(0, length);
        return text;
    }

    // Length of the longest suffix of the text that is a proper prefix of some stop string.
    private int LongestStopPrefixSuffix(string text)
    {
        var best = 0;
        foreach (var stop in _stops)
        {
            for (var len = Math.Min(stop.Length - 1, text.Length); len > best; len--)
            {
                if (text.AsSpan(text.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    best = len;
                    break;
                }
            }
        }

        return best;
    }
}
