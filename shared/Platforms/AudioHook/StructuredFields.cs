using System.Text;

namespace Streaming.Platforms.AudioHook;

/// <summary>
/// The part of RFC 8941 (Structured Field Values for HTTP) that HTTP message signatures use: a dictionary whose members
/// are items or inner lists, with parameters; bare items are integers, strings, tokens, byte sequences and booleans
/// (decimals are refused: no signature parameter is one). Serialisation is the canonical form, which is what the
/// signature base is built from, so a signer's padding or spacing never changes what is verified.
/// </summary>
public static class StructuredFields
{
    public sealed record Parameter(string Key, object Value);

    /// <summary>An item (a bare item with parameters) or, when <see cref="InnerList"/> is set, an inner list.</summary>
    public sealed record Member(object? Value, IReadOnlyList<Member>? InnerList, IReadOnlyList<Parameter> Parameters);

    public sealed class Token(string value)
    {
        public string Value { get; } = value;
        public override string ToString() => Value;
    }

    /// <summary>Parses a dictionary field; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static IReadOnlyList<KeyValuePair<string, Member>> ParseDictionary(string field)
    {
        var p = new Parser(field);
        var members = new List<KeyValuePair<string, Member>>();
        p.SkipSpaces();
        while (!p.End)
        {
            var key = p.Key();
            Member member;
            if (p.TryConsume('=')) member = p.ItemOrInnerList();
            else member = new Member(true, null, p.Parameters());
            // A key seen twice: the last one wins (RFC 8941 4.2.2).
            members.RemoveAll(m => m.Key == key);
            members.Add(new(key, member));
            p.SkipOws();
            if (p.End) break;
            p.Expect(',');
            p.SkipOws();
            if (p.End) throw new FormatException("dictionary ends with a comma");
        }
        return members;
    }

    public static string SerializeInnerList(Member list)
    {
        var sb = new StringBuilder("(");
        for (var i = 0; i < list.InnerList!.Count; i++)
        {
            if (i > 0) sb.Append(' ');
            SerializeItem(sb, list.InnerList[i]);
        }
        sb.Append(')');
        SerializeParameters(sb, list.Parameters);
        return sb.ToString();
    }

    public static string SerializeItem(Member item)
    {
        var sb = new StringBuilder();
        SerializeItem(sb, item);
        return sb.ToString();
    }

    private static void SerializeItem(StringBuilder sb, Member item)
    {
        SerializeBareItem(sb, item.Value!);
        SerializeParameters(sb, item.Parameters);
    }

    private static void SerializeParameters(StringBuilder sb, IReadOnlyList<Parameter> parameters)
    {
        foreach (var (key, value) in parameters)
        {
            sb.Append(';').Append(key);
            if (value is true) continue;
            sb.Append('=');
            SerializeBareItem(sb, value);
        }
    }

    private static void SerializeBareItem(StringBuilder sb, object value)
    {
        switch (value)
        {
            case long n: sb.Append(n); break;
            case string s:
                sb.Append('"');
                foreach (var c in s)
                {
                    if (c is '"' or '\\') sb.Append('\\');
                    sb.Append(c);
                }
                sb.Append('"');
                break;
            case Token t: sb.Append(t.Value); break;
            case byte[] bytes: sb.Append(':').Append(Convert.ToBase64String(bytes)).Append(':'); break;
            case bool b: sb.Append(b ? "?1" : "?0"); break;
            default: throw new ArgumentException($"not a structured field bare item: {value.GetType().Name}");
        }
    }

    private sealed class Parser(string text)
    {
        private const int MaxIntegerDigits = 15;
        private int _i;

        public bool End => _i >= text.Length;

        private char Peek => text[_i];

        public void SkipSpaces()
        {
            while (!End && Peek == ' ') _i++;
        }

        public void SkipOws()
        {
            while (!End && Peek is ' ' or '\t') _i++;
        }

        public bool TryConsume(char c)
        {
            if (End || Peek != c) return false;
            _i++;
            return true;
        }

        public void Expect(char c)
        {
            if (!TryConsume(c)) throw Error($"'{c}' expected");
        }

        public string Key()
        {
            if (End || !(char.IsAsciiLetterLower(Peek) || Peek == '*')) throw Error("a key must start with a-z or *");
            var start = _i++;
            while (!End && (char.IsAsciiLetterLower(Peek) || char.IsAsciiDigit(Peek) || Peek is '_' or '-' or '.' or '*')) _i++;
            return text[start.._i];
        }

        public Member ItemOrInnerList()
        {
            if (!TryConsume('(')) return new Member(BareItem(), null, Parameters());
            var items = new List<Member>();
            while (true)
            {
                SkipSpaces();
                if (TryConsume(')')) return new Member(null, items, Parameters());
                items.Add(new Member(BareItem(), null, Parameters()));
                if (End || Peek is not (' ' or ')')) throw Error("inner list items must be separated by a space");
            }
        }

        public IReadOnlyList<Parameter> Parameters()
        {
            var parameters = new List<Parameter>();
            while (TryConsume(';'))
            {
                SkipSpaces();
                var key = Key();
                object value = TryConsume('=') ? BareItem() : true;
                parameters.RemoveAll(p => p.Key == key);
                parameters.Add(new Parameter(key, value));
            }
            return parameters;
        }

        private object BareItem()
        {
            if (End) throw Error("a value is missing");
            var c = Peek;
            if (c == '-' || char.IsAsciiDigit(c)) return Integer();
            if (c == '"') return String();
            if (c == ':') return ByteSequence();
            if (c == '?') return Boolean();
            if (char.IsAsciiLetter(c) || c == '*') return TokenValue();
            throw Error($"unexpected character '{c}'");
        }

        private long Integer()
        {
            var start = _i;
            TryConsume('-');
            var digitsStart = _i;
            while (!End && char.IsAsciiDigit(Peek)) _i++;
            var digits = _i - digitsStart;
            if (digits == 0) throw Error("a number has no digits");
            if (!End && Peek == '.') throw Error("decimals are not supported here");
            if (digits > MaxIntegerDigits) throw Error("an integer has more than 15 digits");
            return long.Parse(text.AsSpan(start, _i - start), System.Globalization.CultureInfo.InvariantCulture);
        }

        private string String()
        {
            _i++;
            var sb = new StringBuilder();
            while (true)
            {
                if (End) throw Error("a string is not closed");
                var c = text[_i++];
                if (c == '"') return sb.ToString();
                if (c == '\\')
                {
                    if (End || Peek is not ('"' or '\\')) throw Error("a string has a bad escape");
                    sb.Append(text[_i++]);
                }
                else if (c is < ' ' or > '~') throw Error("a string has a character outside printable ASCII");
                else sb.Append(c);
            }
        }

        private byte[] ByteSequence()
        {
            _i++;
            var end = text.IndexOf(':', _i);
            if (end < 0) throw Error("a byte sequence is not closed");
            var encoded = text[_i..end];
            _i = end + 1;
            if (!encoded.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
                throw Error("a byte sequence is not base64");
            try
            {
                return Convert.FromBase64String(encoded);
            }
            catch (FormatException)
            {
                throw Error("a byte sequence is not base64");
            }
        }

        private bool Boolean()
        {
            _i++;
            if (TryConsume('1')) return true;
            if (TryConsume('0')) return false;
            throw Error("a boolean must be ?0 or ?1");
        }

        private Token TokenValue()
        {
            var start = _i++;
            while (!End && (char.IsAsciiLetterOrDigit(Peek) || "!#$%&'*+-.^_`|~:/".Contains(Peek))) _i++;
            return new Token(text[start.._i]);
        }

        private FormatException Error(string problem) => new($"{problem} at offset {_i}");
    }
}
