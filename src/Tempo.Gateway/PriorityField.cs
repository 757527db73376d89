using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tempo.Gateway;

/// <summary>
/// vLLM's request <c>priority</c> (an integer, lower served first) as the gateway sets it for backends that schedule
/// by it: the request's latest start in milliseconds on the gateway's clock, so the backend keeps least-laxity order.
/// </summary>
internal static class PriorityField
{
    /// <summary>The priority of a request that must start by <paramref name="latestStartS"/>, clamped to an int.</summary>
    public static int Of(double latestStartS) =>
        double.IsFinite(latestStartS) ? (int)Math.Clamp(Math.Round(latestStartS * 1000), int.MinValue, int.MaxValue) : int.MaxValue;

    /// <summary>
    /// The buffered request body with <c>priority</c> added, or null when it already has one or is not a JSON object
    /// (then it is forwarded as it came). The body's position is left at its start either way.
    /// </summary>
    public static MemoryStream? Add(Stream body, int priority)
    {
        body.Position = 0;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
        finally
        {
            body.Position = 0;
        }

        if (node is not JsonObject obj || obj.ContainsKey("priority"))
        {
            return null;
        }

        obj["priority"] = priority;
        var rewritten = new MemoryStream();
        using (var writer = new Utf8JsonWriter(rewritten))
        {
            obj.WriteTo(writer);
        }

        rewritten.Position = 0;
        return rewritten;
    }
}
