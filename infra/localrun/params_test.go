package localrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNumberParameterOverride: a Number parameter overridden from a string
// (ordo local up --param, Options.Parameters) reaches a numeric property
// (a function's Timeout) as a number; a non-number is refused by name.
func TestNumberParameterOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "template.yaml")
	tpl := `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  FnTimeout:
    Type: Number
    Default: 60
  Level:
    Type: String
    Default: info
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: ./
      Timeout: !Ref FnTimeout
      Environment:
        Variables:
          LEVEL: !Ref Level
`
	if err := os.WriteFile(path, []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := ParseTemplate(path, map[string]string{"FnTimeout": "12", "Level": "10"})
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	if len(tm.Functions) != 1 || tm.Functions[0].Timeout != 12 || tm.Functions[0].Env["LEVEL"] != "10" {
		t.Fatalf("functions %+v, want Timeout 12 and LEVEL \"10\"", tm.Functions)
	}
	if _, err := ParseTemplate(path, map[string]string{"FnTimeout": "soon"}); err == nil || !strings.Contains(err.Error(), "FnTimeout") {
		t.Errorf("a non-number for a Number parameter: %v, want an error naming it", err)
	}
}
