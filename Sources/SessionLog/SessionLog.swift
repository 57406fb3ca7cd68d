public enum SL {}
