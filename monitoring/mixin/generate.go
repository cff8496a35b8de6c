package mixin

import "path"

// File is one generated file: its path relative to the output directory,
// with forward slashes, and its content.
type File struct {
	Path string
	Data []byte
}

// Generate builds the dashboard and the rule file of c:
// dashboards/<name>.json and rules/<name>.rules.yml, name being
// [Config.Name].
func Generate(c Config) ([]File, error) {
	dash, err := DashboardJSON(c)
	if err != nil {
		return nil, err
	}
	rules, err := RulesYAML(c)
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: path.Join("dashboards", c.Name()+".json"), Data: dash},
		{Path: path.Join("rules", c.Name()+".rules.yml"), Data: rules},
	}, nil
}
