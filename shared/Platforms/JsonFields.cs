using System.Text.Json;

namespace Streaming.Platforms;

/// <summary>Typed reads of optional JSON properties: a missing or mistyped property is "not there", never an exception.</summary>
internal static class JsonFields
{
    public static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    public static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = "";
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var property) || property.ValueKind != JsonValueKind.String) return false;
        value = property.GetString()!;
        return true;
    }

    public static bool TryGetLong(JsonElement element, string name, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var property)
            && property.ValueKind == JsonValueKind.Number && property.TryGetInt64(out value);
    }
}
