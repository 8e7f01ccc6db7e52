"""The handlers of anyprop's commands: each parses nothing and computes nothing itself."""
